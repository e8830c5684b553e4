const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const VALUE = new Map([...ALPHABET].map((char, value) => [char, value]));

/**
 * True when `text` is the one base64url spelling (RFC 4648 §5, unpadded, as JWS requires) of
 * some bytes. Decoders accept other spellings of the same bytes (padding, non-zero unused bits
 * in the last character), which would let anyone make a second, different-looking token from a
 * genuine one; tokens are compared and remembered by their text, so only one spelling may pass.
 */
export function isCanonicalBase64url(text: string): boolean {
  // A lone character after full quartets carries 6 bits: less than a byte, never produced.
  if (text.length % 4 === 1) return false;
  for (const char of text) if (!VALUE.has(char)) return false;
  const last = VALUE.get(text.at(-1) ?? 'A')!;
  // 2 characters hold 1 byte (12 bits, 4 unused), 3 hold 2 bytes (18 bits, 2 unused).
  if (text.length % 4 === 2) return (last & 0b1111) === 0;
  if (text.length % 4 === 3) return (last & 0b11) === 0;
  return true;
}

/** True when a JWS in compact serialization has three segments, each canonical base64url. */
export function isCanonicalCompactJws(token: string): boolean {
  const segments = token.split('.');
  return segments.length === 3 && segments.every(isCanonicalBase64url);
}
