/**
 * What counts as a credential in a name, and URLs with the values of such query keys hidden: the
 * rules the logger applies to every request line and header it writes.
 */

/**
 * Whether a name (query key, header, field) says its value is a credential. Broad on purpose: a
 * value hidden needlessly costs a little debugging, a credential in the logs is one anyone who
 * reads them holds. Parts of a name are matched anywhere (`x-auth-token`, `clientSecret`,
 * `sessionid`), except `author`/`authority`; short words only as a whole word of the name (`sig`,
 * `x-sig`, `urlSig`, `api key`, but not `design` or `monkey`); `code` (OAuth's authorization code)
 * only as the whole name, since `error_code` or `country_code` are not secret.
 */
export function isCredentialName(name: string): boolean {
  if (CREDENTIAL_PARTS.test(name)) return true;
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  return words.some((word) => CREDENTIAL_WORDS.has(word)) || name.toLowerCase() === 'code';
}

const CREDENTIAL_PARTS =
  /token|secret|passw|pwd|bearer|api.?key|auth(?!or(?!i[sz]))|signature|credential|session|cookie|jwt/i;
const CREDENTIAL_WORDS = new Set(['sig', 'key', 'pass', 'pin', 'otp']);

/**
 * The URL with the values of credential-like query keys replaced. Keys are judged decoded, as
 * the query parser reads them: `client%5Fsecret=` is `client_secret=` to the route, so it must be
 * to the redaction too.
 */
export function redactUrl(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const pairs = url
    .slice(at + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      const key = pair.slice(0, eq);
      return isCredentialName(decodeQueryKey(key)) ? `${key}=[REDACTED]` : pair;
    });
  return `${url.slice(0, at + 1)}${pairs.join('&')}`;
}

function decodeQueryKey(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}
