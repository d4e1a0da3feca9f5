/** One test request to a deployed version: the curl that sends it (no token), or its prediction. */
import { request } from './rpc';

export interface EndpointTestParams {
  /** Deploy target name in modelops.yaml. */
  target: string;
  /** `model@version`, addressed explicitly on the endpoint. */
  ref: string;
  /** false: only build the request (for Copy curl); true: send it and return the prediction. */
  send: boolean;
  configUri?: string;
}

export interface EndpointTestResult {
  /** The version's infer route on the target. */
  url: string;
  /** The Open Inference Protocol body: one row of the version's signature, not logged by monitoring. */
  body: {
    inputs: Array<{ name: string; datatype: string; shape: number[]; data: unknown[] }>;
    parameters: { modelops_log: false };
  };
  /** Where the row came from (a data file of the config), or 'placeholder values'. */
  rowSource: string;
  /** Present when sent: the label or value, class probabilities, round-trip time. */
  prediction?: { value: string | number; probabilities?: number[]; labels?: string[] };
  latencyMs?: number;
}

export const testRequest = request<EndpointTestParams, EndpointTestResult>('modelops/endpoint/testRequest', {
  requiresTrust: true,
  action: 'Sending a test request',
});
