/**
 * Who and where this page is: the API's origin (`?api=`, default this page's origin), the
 * demo member (`?member=`), this browser's device id, a cached token (so a reload while
 * offline still starts) and the online switch. All kept in localStorage, per API and member.
 */
export const MEMBERS = ['alice', 'bob', 'carol'] as const;

export interface DemoToken {
  token: string;
  userId: string;
  familyId: string;
  expiresAt: string;
}

const params = new URLSearchParams(location.search);

export const apiBase = (params.get('api') ?? location.origin).replace(/\/$/, '');
export const member: string = MEMBERS.find((m) => m === params.get('member')) ?? MEMBERS[0];

const key = (name: string) => `delta-sync-demo:${apiBase}:${member}:${name}`;

export function deviceId(): string {
  let id = localStorage.getItem(key('device'));
  if (!id) {
    id = `web-${member}-${crypto.randomUUID().slice(0, 8)}`;
    localStorage.setItem(key('device'), id);
  }
  return id;
}

export function cachedToken(): DemoToken | null {
  const raw = localStorage.getItem(key('token'));
  return raw ? (JSON.parse(raw) as DemoToken) : null;
}

/** A fresh token from the development-only endpoint (`POST /demo/token`). */
export async function fetchToken(): Promise<DemoToken> {
  let res: Response;
  try {
    res = await fetch(`${apiBase}/demo/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ member }),
    });
  } catch (error) {
    // A browser hides the reason; a CORS refusal and a dead server look the same from here.
    throw new Error(
      `cannot reach the sync service at ${apiBase} from ${location.origin} (${String(error)}); ` +
        `if the service runs, is ${location.origin} in its CORS_ORIGINS?`,
      { cause: error },
    );
  }
  if (!res.ok)
    throw new Error(`${apiBase}/demo/token answered ${res.status}: the demo runs only in development with the development JWT secret`);
  const token = (await res.json()) as DemoToken;
  localStorage.setItem(key('token'), JSON.stringify(token));
  return token;
}

/** The cached token while it has more than a minute left, else a new one. */
export async function currentToken(refresh = false): Promise<DemoToken> {
  const cached = cachedToken();
  if (!refresh && cached && Date.parse(cached.expiresAt) - Date.now() > 60_000) return cached;
  return fetchToken();
}

export const isOnline = (): boolean => localStorage.getItem(key('online')) !== 'false';
export const setOnline = (on: boolean): void => localStorage.setItem(key('online'), String(on));
