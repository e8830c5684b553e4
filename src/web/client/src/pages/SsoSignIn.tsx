import { useEffect, useState } from 'react';

/** What GET /admin/v1/sso answers. */
interface SsoOffer {
  enabled: boolean;
  issuer?: string;
}

/** The provider as people know it: its host, not the whole issuer URL. */
function providerName(issuer: string): string {
  try {
    return new URL(issuer).host;
  } catch {
    return issuer;
  }
}

/**
 * The single sign-on door, when the server has one: a plain link, since the sign-in is a round of
 * full-page redirects through the provider that ends back in the console with the session cookie
 * set. Nothing shows while asking, nor when the server could not say: the other doors still work.
 */
export function SsoSignIn() {
  const [offer, setOffer] = useState<SsoOffer | null>(null);
  useEffect(() => {
    const abort = new AbortController();
    fetch('/admin/v1/sso', { headers: { accept: 'application/json' }, signal: abort.signal })
      .then((response) => (response.ok ? (response.json() as Promise<SsoOffer>) : null))
      .then(setOffer, () => undefined);
    return () => abort.abort();
  }, []);
  if (!offer?.enabled || !offer.issuer) return null;
  return (
    <div className="form">
      <a className="btn btn-primary" href="/admin/v1/sso/login?returnTo=%2Fadmin">
        Sign in with {providerName(offer.issuer)}
      </a>
    </div>
  );
}
