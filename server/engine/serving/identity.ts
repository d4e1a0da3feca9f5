/**
 * Proof that a model server is ours: HMAC-SHA256 of a caller's nonce and the port the server
 * listens on, keyed by its management token. A client that knows the token checks the proof
 * without ever sending the token; the port stops an impostor on another port from relaying the
 * nonce to the real server.
 */
import { createHmac } from 'node:crypto';

export function identityProof(token: string, nonce: string, port: number): string {
  return createHmac('sha256', token).update(`${nonce}:${port}`).digest('hex');
}
