import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configFromEnv } from '../../src/config.js';
import { claimValues, grantsOf, parseRoleMap, safeReturnTo, ssoConfigFromEnv } from '../../src/operators/sso-config.js';

const ENV = {
  OIDC_ISSUER: 'https://login.example.com/realms/ops',
  OIDC_CLIENT_ID: 'botbridge',
  OIDC_CLIENT_SECRET: 's3cret',
  OIDC_ROLE_MAP: '{"ops": "super", "support": {"acme": "viewer"}}',
};

describe('single sign-on configuration', () => {
  it('is off when no OIDC_ variable is set', () => {
    assert.equal(ssoConfigFromEnv({}), undefined);
    assert.equal(ssoConfigFromEnv({ OIDC_ISSUER: '  ' }), undefined);
    assert.equal(configFromEnv({}, { hostname: 'h', pid: 1 }).sso, undefined);
  });

  it('reads the issuer, client, scopes, claim and role map, with defaults', () => {
    assert.deepEqual(ssoConfigFromEnv(ENV), {
      issuer: 'https://login.example.com/realms/ops',
      clientId: 'botbridge',
      clientSecret: 's3cret',
      scopes: 'openid email profile',
      rolesClaim: 'groups',
      roleMap: { ops: 'super', support: { acme: 'viewer' } },
    });
    const full = ssoConfigFromEnv({
      ...ENV,
      OIDC_REDIRECT_URL: 'https://bots.example.com/admin/v1/sso/callback',
      OIDC_SCOPES: 'openid  groups openid',
      OIDC_ROLES_CLAIM: 'realm_access.roles',
    });
    assert.equal(full?.redirectUrl, 'https://bots.example.com/admin/v1/sso/callback');
    assert.equal(full?.scopes, 'openid groups');
    assert.equal(full?.rolesClaim, 'realm_access.roles');
    assert.ok(configFromEnv(ENV, { hostname: 'h', pid: 1 }).sso, 'configFromEnv reads it');
  });

  it('refuses at start what is half-set or malformed, naming the variable', () => {
    const refused = (env: NodeJS.ProcessEnv, message: RegExp) => assert.throws(() => ssoConfigFromEnv(env), message);
    refused({ OIDC_ISSUER: ENV.OIDC_ISSUER }, /needs OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_ROLE_MAP/);
    refused({ ...ENV, OIDC_ROLE_MAP: '' }, /needs OIDC_ROLE_MAP.*without a role map nobody/);
    refused({ OIDC_CLIENT_ID: 'x' }, /needs OIDC_ISSUER.*\(OIDC_CLIENT_ID is set\)/);
    refused({ ...ENV, OIDC_ISSUER: 'login.example.com' }, /OIDC_ISSUER must be an absolute URL/);
    refused({ ...ENV, OIDC_ISSUER: 'http://login.example.com' }, /OIDC_ISSUER must be an https URL/);
    refused({ ...ENV, OIDC_REDIRECT_URL: 'ftp://x/cb' }, /OIDC_REDIRECT_URL must be an https URL/);
    refused({ ...ENV, OIDC_SCOPES: 'email profile' }, /OIDC_SCOPES must include openid/);
    refused({ ...ENV, OIDC_ROLE_MAP: '{ops: super}' }, /OIDC_ROLE_MAP must be JSON/);
    // Plain HTTP to this machine only: a provider beside the server, or a test's.
    assert.equal(ssoConfigFromEnv({ ...ENV, OIDC_ISSUER: 'http://127.0.0.1:9000' })?.issuer, 'http://127.0.0.1:9000');
    assert.ok(ssoConfigFromEnv({ ...ENV, OIDC_ISSUER: 'http://localhost:9000/oidc' }));
    assert.throws(() => configFromEnv({ OIDC_CLIENT_SECRET: 'x' }, { hostname: 'h', pid: 1 }), /single sign-on needs/);
  });

  it('role map: "super" or account ids to roles, each checked', () => {
    assert.deepEqual(parseRoleMap('{"a": {"acme": "owner", "beta": "admin"}, "b": "super"}'), {
      a: { acme: 'owner', beta: 'admin' },
      b: 'super',
    });
    assert.throws(() => parseRoleMap('[]'), /must be a JSON object/);
    assert.throws(() => parseRoleMap('{}'), /must be a JSON object/);
    assert.throws(() => parseRoleMap('{"a": "admin"}'), /'a' must be "super" or an object of account ids/);
    assert.throws(() => parseRoleMap('{"a": {}}'), /'a' must be "super" or an object/);
    assert.throws(
      () => parseRoleMap('{"a": {"acme": "god"}}'),
      /gives account 'acme' the role "god": one of viewer, admin, owner/,
    );
    assert.throws(() => parseRoleMap('{"a": {" ": "viewer"}}'), /names an empty account id/);
    // A claim value named like Object's own keys is a key like any other.
    const odd = parseRoleMap('{"__proto__": "super", "constructor": {"acme": "viewer"}}');
    assert.equal(Object.getPrototypeOf(odd), Object.prototype);
    assert.deepEqual(grantsOf({ groups: ['__proto__'] }, 'groups', odd), { superAdmin: true, roles: {} });
    assert.deepEqual(grantsOf({ groups: ['toString'] }, 'groups', odd), { superAdmin: false, roles: {} });
  });
});

describe('claims to roles', () => {
  const map = parseRoleMap(
    JSON.stringify({
      ops: 'super',
      support: { acme: 'viewer', beta: 'owner' },
      'acme-admins': { acme: 'admin' },
      'beta-viewers': { beta: 'viewer' },
    }),
  );

  it('several matching values merge, the highest role per account winning', () => {
    assert.deepEqual(grantsOf({ groups: ['support', 'acme-admins', 'beta-viewers'] }, 'groups', map), {
      superAdmin: false,
      roles: { acme: 'admin', beta: 'owner' },
    });
    assert.deepEqual(grantsOf({ groups: ['acme-admins', 'support'] }, 'groups', map).roles, {
      acme: 'admin',
      beta: 'owner',
    });
    assert.deepEqual(grantsOf({ groups: ['ops', 'beta-viewers'] }, 'groups', map), {
      superAdmin: true,
      roles: { beta: 'viewer' },
    });
  });

  it('grants nothing for unknown values, a missing claim or values of the wrong type', () => {
    const nothing = { superAdmin: false, roles: {} };
    assert.deepEqual(grantsOf({ groups: ['marketing'] }, 'groups', map), nothing);
    assert.deepEqual(grantsOf({}, 'groups', map), nothing);
    assert.deepEqual(grantsOf({ groups: [{ name: 'ops' }, 7] }, 'groups', map), nothing);
    assert.deepEqual(grantsOf({ roles: ['ops'] }, 'groups', map), nothing);
  });

  it('reads the claim as one string, a list, a dotted path, or a name with dots', () => {
    assert.deepEqual(claimValues({ groups: 'ops' }, 'groups'), ['ops']);
    assert.deepEqual(claimValues({ groups: ['a', 1, 'b'] }, 'groups'), ['a', 'b']);
    assert.deepEqual(claimValues({ realm_access: { roles: ['ops'] } }, 'realm_access.roles'), ['ops']);
    assert.deepEqual(claimValues({ 'https://x.example/groups': ['ops'] }, 'https://x.example/groups'), ['ops']);
    assert.deepEqual(claimValues({ realm_access: 'ops' }, 'realm_access.roles'), []);
    assert.equal(grantsOf({ realm_access: { roles: ['ops'] } }, 'realm_access.roles', map).superAdmin, true);
  });
});

describe('where the console goes after signing in', () => {
  it('a path on this server, else the console', () => {
    assert.equal(safeReturnTo('/admin/bots?acc=acme'), '/admin/bots?acc=acme');
    assert.equal(safeReturnTo(undefined), '/admin');
    assert.equal(safeReturnTo(''), '/admin');
    for (const elsewhere of [
      'https://evil.example/admin',
      '//evil.example/admin',
      '/\\evil.example',
      'javascript:alert(1)',
      'admin',
      '/admin\nLocation: x',
      `/${'a'.repeat(3000)}`,
    ])
      assert.equal(safeReturnTo(elsewhere), '/admin', elsewhere);
  });
});
