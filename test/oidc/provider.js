// test/oidc/provider.js — a real OpenID Connect provider (the oidc-provider
// package) for fcm's auth tests, on 127.0.0.1 only, at a free port.
//
//   node provider.js [PORTFILE]
//
// Prints "listening http://127.0.0.1:PORT" (and writes the issuer URL to
// PORTFILE).  One client: fcm-test / fcm-test-secret, a native app with the
// loopback redirect http://127.0.0.1/callback (any port, RFC 8252), the
// authorization-code (PKCE) and device grants (and FCM_TEST_REDIRECT_URI,
// the dashboard's https://HOST/login, when set).  Logins go through the
// package's development pages, which take any user name: user "alice" is
// alice@example.test, "Alice Example".  ID tokens carry email and name.
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import Provider from 'oidc-provider';

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  const issuer = `http://127.0.0.1:${port}`;
  const key = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  key.kid = 'test-rsa';
  key.use = 'sig';
  key.alg = 'RS256';
  const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'fcm-test',
      client_secret: 'fcm-test-secret',
      application_type: 'native',
      // and the web dashboard's, when a test names it (test/web.bats)
      redirect_uris: ['http://127.0.0.1/callback', ...(process.env.FCM_TEST_REDIRECT_URI ? [process.env.FCM_TEST_REDIRECT_URI] : [])],
      grant_types: ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [key] },
    cookies: { keys: ['fcm-test-cookie-key'] },
    features: { devInteractions: { enabled: true }, deviceFlow: { enabled: true } },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    conformIdTokenClaims: false,
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: `${id}@example.test`, email_verified: true, name: `${cap(id)} Example` };
        },
      };
    },
  });
  provider.proxy = false;
  server.on('request', provider.callback());
  console.log(`listening ${issuer}`);
  if (process.argv[2]) fs.writeFileSync(process.argv[2], issuer + '\n');
});
process.on('SIGTERM', () => process.exit(0));
