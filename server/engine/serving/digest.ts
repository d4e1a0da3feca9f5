/**
 * The digest of a bundle as the workspace store names it (server/engine/registry/artifacts.ts):
 * a file is `sha256:<hex of its bytes>`; a folder is the digest of its manifest
 * `{"kind":"modelops-directory/1","files":{<path>: {"digest","size"}}}` with paths sorted.
 * Kept here rather than imported so the server does not depend on the registry; a test checks
 * that both agree.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export const DIGEST = /^sha256:[0-9a-f]{64}$/;

async function hashFile(path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    const s = createReadStream(path);
    s.on('data', (c: Buffer | string) => {
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      size += b.length;
      hash.update(b);
    });
    s.on('end', resolve);
    s.on('error', reject);
  });
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      // A symbolic link could point anywhere after the check: the store never holds one, so a bundle must not.
      else if (e.isFile()) out.push(relative(root, p).split(sep).join('/'));
      else throw new Error(`${p} is not a regular file`);
    }
  };
  await walk(root);
  return out.sort();
}

/** The digest the workspace store gives the file or folder at `path`. */
export async function bundleDigest(path: string): Promise<string> {
  const st = await lstat(path);
  if (st.isFile()) return (await hashFile(path)).digest;
  if (!st.isDirectory()) throw new Error(`${path} is neither a file nor a folder`);
  const files: Record<string, { digest: string; size: number }> = {};
  for (const rel of await listFiles(path)) files[rel] = await hashFile(join(path, ...rel.split('/')));
  const manifest = JSON.stringify({ kind: 'modelops-directory/1', files });
  return `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
}
