import { request } from './rpc';
import type { VersionConfig } from '../engine/registry/versionConfig';

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

/**
 * The config text a version was registered with and where it came from: the copy in the
 * workspace store ('registry'), else — for versions registered before configs were kept — the
 * current modelops.yaml ('workspace') or git at the version's commit ('git') when the digest
 * matches; 'none' with a note saying why when it cannot be recovered.
 */
export type VersionConfigResult = VersionConfig;

/** The config a version was registered with (stored copy first, then by digest); serves `modelops-config:` documents. */
export const versionConfig = request<{ ref: string }, VersionConfigResult>('modelops/workspace/versionConfig');

export interface TargetInfo {
  name: string;
  type: 'local' | 'http';
  /** Where it serves: the url of an http target, http://host:port of a local one. */
  url: string | null;
  /** The origin (scheme://host:port) its token would be sent to: http targets only. */
  origin: string | null;
  requireApproval: boolean;
  /** Name of the secret holding its token (never the token), as configured. */
  tokenSecret: string | null;
  /** The secret its token is stored under: tokenSecret, else the target's name. */
  secret: string;
}

/** The deploy targets of a config, for the deploy and token commands. */
export const targets = request<{ configUri?: string }, TargetInfo[]>('modelops/workspace/targets');
