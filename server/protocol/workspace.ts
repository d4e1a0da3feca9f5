import { request } from './rpc';

export interface InitParams {
  /** Absolute path of the folder to write `modelops.yaml` (and the starter dataset) into. */
  folder: string;
  /** Replace an existing modelops.yaml. */
  force?: boolean;
}

export interface InitResult {
  /** Absolute path of the written modelops.yaml. */
  configPath: string;
  /** Absolute paths of every file written. */
  written: string[];
}

/** "ModelOps: Create modelops.yaml" — the same starter as `modelops init`. */
export const init = request<InitParams, InitResult>('modelops/workspace/init');

/**
 * "ModelOps: Open Sample" — writes the sample workspace into an empty folder (the starter
 * config and the Seattle weather dataset); the extension then opens that folder.
 */
export const openSample = request<InitParams, InitResult>('modelops/workspace/openSample');

export interface VersionConfigResult {
  /** The modelops.yaml text the version was registered with, or null when it cannot be recovered. */
  text: string | null;
  /** Where the text came from: the workspace's current config (same digest) or git at the version's commit. */
  source: 'workspace' | 'git' | 'none';
  /** One sentence for the diff view's header, e.g. why the text is missing. */
  note: string;
}

/** The config a version was registered with, recovered by its digest; serves `modelops-config:` documents. */
export const versionConfig = request<{ ref: string }, VersionConfigResult>('modelops/workspace/versionConfig');

export interface TargetInfo {
  name: string;
  type: 'local' | 'http';
  /** Where it serves: the url of an http target, http://host:port of a local one. */
  url: string | null;
  requireApproval: boolean;
  /** Name of the secret holding its token (never the token). */
  tokenSecret: string | null;
}

/** The deploy targets of a config, for the deploy and token commands. */
export const targets = request<{ configUri?: string }, TargetInfo[]>('modelops/workspace/targets');
