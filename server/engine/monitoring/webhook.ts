/**
 * Alert webhooks. Many webhook URLs are themselves secrets (Slack, Discord and Teams put the key
 * in the path), so such a URL is named by a secret (`monitor.alerts.webhookSecret`, read from
 * MODELOPS_WEBHOOK_<NAME>) rather than written in modelops.yaml, logs show only its origin, and a
 * redirect is never followed: the body (alerts about the model) goes only where it was sent.
 */
import type { AlertsConfig } from '../config/types';
import { envName } from '../deploy/tokens';

/** Hosts whose webhook URLs carry their secret in the path. */
const SECRET_PATH_HOSTS: Array<{ host: RegExp; path: RegExp }> = [
  { host: /^hooks\.slack\.com$/, path: /^\/(services|workflows|triggers)\// },
  { host: /^(discord|discordapp|canary\.discord|ptb\.discord)\.com$/, path: /^\/api\/webhooks\// },
  { host: /(^|\.)webhook\.office\.com$/, path: /\// },
  { host: /^outlook\.office(365)?\.com$/, path: /^\/webhook(b2)?\// },
  { host: /(^|\.)logic\.azure\.com$/, path: /\// },
  { host: /^chat\.googleapis\.com$/, path: /\// },
];

/**
 * Whether a webhook URL carries a secret in its path: a known provider's webhook, or a path
 * segment that looks like a random key (24+ characters mixing letters and digits).
 */
export function webhookPathCarriesSecret(u: URL): boolean {
  const host = u.hostname.toLowerCase();
  if (SECRET_PATH_HOSTS.some((p) => p.host.test(host) && p.path.test(u.pathname))) return true;
  return u.pathname.split('/').some((seg) => seg.length >= 24 && /[0-9]/.test(seg) && /[A-Za-z]/.test(seg));
}

/** A webhook URL as it may appear in logs: scheme, host and port only. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return 'the configured URL';
  }
}

/** The webhook URL to call: the configured one, or the one the named secret holds in the environment. */
export function webhookUrl(
  alerts: AlertsConfig | undefined,
  env: NodeJS.ProcessEnv,
  onLog?: (m: string) => void,
): string | null {
  if (alerts?.webhookSecret) {
    const key = `MODELOPS_WEBHOOK_${envName(alerts.webhookSecret)}`;
    const url = env[key]?.trim();
    if (!url) onLog?.(`alert webhook: ${key} is not set, so no webhook was called`);
    return url || null;
  }
  return alerts?.webhook ?? null;
}

/** POSTs JSON with a timeout; failures are logged (origin only), never thrown; redirects are not followed. */
export async function sendWebhook(
  url: string,
  body: unknown,
  timeoutMs: number,
  onLog?: (m: string) => void,
): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 300 && res.status < 400) {
      onLog?.(
        `alert webhook ${safeUrl(url)} answered with a redirect (${res.status}); redirects are not followed — configure the final URL`,
      );
      return false;
    }
    if (!res.ok) onLog?.(`alert webhook ${safeUrl(url)} answered ${res.status}`);
    return res.ok;
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    onLog?.(
      `alert webhook ${safeUrl(url)} failed: ${err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err.cause?.code ?? err.name)}`,
    );
    return false;
  }
}
