import type { BrowserContext, CookiePort, SdkEnvironment, StoragePort } from './types.js';

/** A Web-Storage-shaped map: the fallback when localStorage is blocked, and the storage of tests. */
export function createMemoryStorage(): StoragePort {
  const map = new Map<string, string>();
  return {
    get length() {
      return map.size;
    },
    key: (index) => [...map.keys()][index] ?? null,
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, String(value)),
    removeItem: (key) => void map.delete(key),
  };
}

/** A cookie jar without a document (tests, non-browser hosts); `maxAgeSeconds <= 0` deletes. */
export function createMemoryCookies(): CookiePort {
  const map = new Map<string, string>();
  return {
    get: (name) => map.get(name),
    set: (name, value, maxAgeSeconds) => void (maxAgeSeconds > 0 ? map.set(name, value) : map.delete(name)),
  };
}

/** A version 4 UUID from `crypto.getRandomValues` (`crypto.randomUUID` exists only on https pages). */
export function randomUuid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 15) | 64;
  bytes[8] = (bytes[8]! & 63) | 128;
  const hex = Array.from(bytes, (b) => (b + 256).toString(16).slice(1)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function localStorageOrMemory(): StoragePort {
  try {
    // Reading `localStorage` throws when the user blocks site data; writing throws in some private modes.
    const storage = localStorage;
    storage.setItem('kairos.probe', '1');
    storage.removeItem('kairos.probe');
    return storage;
  } catch {
    return createMemoryStorage();
  }
}

function documentCookies(cookieDomain: string | undefined): CookiePort {
  return {
    get(name) {
      for (const part of document.cookie.split('; ')) {
        const eq = part.indexOf('=');
        if (part.slice(0, eq) === name) return decodeURIComponent(part.slice(eq + 1));
      }
      return undefined;
    },
    set(name, value, maxAgeSeconds) {
      document.cookie =
        `${name}=${encodeURIComponent(value)}; Max-Age=${maxAgeSeconds}; Path=/; SameSite=Lax` +
        (cookieDomain ? `; Domain=${cookieDomain}` : '') +
        (location.protocol === 'https:' ? '; Secure' : '');
    },
  };
}

/** The real browser environment; every part degrades to a no-op or memory when its API is missing. */
export function createBrowserEnvironment(cookieDomain?: string): SdkEnvironment {
  const hasDocument = typeof document !== 'undefined';
  const nav = typeof navigator !== 'undefined' ? navigator : undefined;
  return {
    fetch: (url, init) => fetch(url, init),
    storage: localStorageOrMemory(),
    cookies: hasDocument ? documentCookies(cookieDomain) : createMemoryCookies(),
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
    now: () => Date.now(),
    random: Math.random,
    uuid: randomUuid,
    sendBeacon: nav?.sendBeacon ? (url, body) => nav.sendBeacon(url, body) : undefined,
    keepalive: typeof Request !== 'undefined' && 'keepalive' in Request.prototype,
    eventSource: typeof EventSource !== 'undefined' ? (url) => new EventSource(url) : undefined,
    context() {
      const context: BrowserContext = {};
      if (hasDocument) {
        context.page = {
          url: location.href.replace(/#.*/, ''),
          path: location.pathname,
          referrer: document.referrer,
          title: document.title,
          search: location.search,
        };
      }
      if (nav) {
        context.userAgent = nav.userAgent;
        context.locale = nav.language;
      }
      try {
        context.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      } catch {
        // Intl without time zone data: the field is optional.
      }
      return context;
    },
    on(event, listener) {
      if (!hasDocument) return () => undefined;
      const call = listener as (arg?: boolean) => void;
      const bindings: [EventTarget, string, (e: Event) => void][] =
        event === 'hide'
          ? [
              [document, 'visibilitychange', () => document.visibilityState === 'hidden' && call(false)],
              [window, 'pagehide', () => call(true)],
            ]
          : event === 'show'
            ? [[window, 'pageshow', (e) => (e as PageTransitionEvent).persisted && call()]]
            : [[window, 'online', () => call()]];
      for (const [target, type, handler] of bindings) target.addEventListener(type, handler);
      return () => {
        for (const [target, type, handler] of bindings) target.removeEventListener(type, handler);
      };
    },
    warn: (message, detail) => console.warn(`[kairos] ${message}`, detail ?? ''),
  };
}
