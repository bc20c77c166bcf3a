// test/oidc/minter.js — a tiny OpenID issuer for fcm's auth tests: serves a
// discovery document and a JWK set (one RSA and one P-256 key) on
// 127.0.0.1, and mints ID tokens on request, good and bad, to check what the
// host refuses.  Loopback only.
//
//   node minter.js [ISSUERFILE]         prints "listening http://127.0.0.1:PORT"
//   GET /mint?sub=S&email=E&aud=A&iss=I&exp=SECONDS&nonce=N&alg=RS256|ES256|HS256|none
//            &key=good|other&tamper=1&verified=true|false|absent   -> the token (text)
// GET /stats -> {"<path>": hits}; the discovery document and the JWK set
// are sent with Cache-Control: public, max-age=300.
// exp is relative to now (negative: expired).  key=other signs with a key
// the JWK set does not hold (a forged token); tamper=1 changes the payload
// after signing.  verified sets email_verified (default true; absent: no
// such claim).
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';

const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const pub = (k, kid, alg) => ({ ...k.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' });
const b64 = (b) => Buffer.from(b).toString('base64url');

function mint(q, issuer) {
  const now = Math.floor(Date.now() / 1000);
  const alg = q.get('alg') || 'RS256';
  const claims = {
    iss: q.get('iss') || issuer,
    sub: q.get('sub') || 'carol',
    aud: q.get('aud') || 'fcm-test',
    iat: now,
    exp: now + Number(q.get('exp') || 300),
    email: q.get('email') || `${q.get('sub') || 'carol'}@example.test`,
    email_verified: true,
    name: q.get('name') || 'Carol Example',
  };
  if (q.get('nonce')) claims.nonce = q.get('nonce');
  if (q.get('verified') === 'false') claims.email_verified = false;
  if (q.get('verified') === 'absent') delete claims.email_verified;
  const kid = alg === 'ES256' ? 'ec-1' : 'rsa-1';
  const head = b64(JSON.stringify({ alg, kid, typ: 'JWT' }));
  let body = b64(JSON.stringify(claims));
  const input = `${head}.${body}`;
  let sig = '';
  if (alg === 'RS256') {
    const key = q.get('key') === 'other' ? other.privateKey : rsa.privateKey;
    sig = b64(crypto.sign('sha256', Buffer.from(input), key));
  } else if (alg === 'ES256') {
    sig = b64(crypto.sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }));
  } else if (alg === 'HS256') {
    sig = b64(crypto.createHmac('sha256', 'fcm-test-secret').update(input).digest());
  }
  if (q.get('tamper')) body = b64(JSON.stringify({ ...claims, sub: 'mallory', email: 'mallory@example.test' }));
  return `${head}.${body}.${sig}`;
}

const hits = {};
const server = http.createServer((req, res) => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const u = new URL(req.url, issuer);
  const json = (o) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(o)); };
  hits[u.pathname] = (hits[u.pathname] || 0) + 1;
  // The discovery document and the keys may be kept 5 minutes, as Google says of its own.
  if (u.pathname === '/.well-known/openid-configuration' || u.pathname === '/jwks')
    res.setHeader('cache-control', 'public, max-age=300');
  if (u.pathname === '/stats') return json(hits);
  if (u.pathname === '/.well-known/openid-configuration') {
    return json({
      issuer, jwks_uri: `${issuer}/jwks`, token_endpoint: `${issuer}/token`,
      authorization_endpoint: `${issuer}/auth`, id_token_signing_alg_values_supported: ['RS256', 'ES256'],
    });
  }
  if (u.pathname === '/jwks') return json({ keys: [pub(rsa, 'rsa-1', 'RS256'), pub(ec, 'ec-1', 'ES256')] });
  if (u.pathname === '/mint') { res.setHeader('content-type', 'text/plain'); return res.end(mint(u.searchParams, issuer)); }
  res.statusCode = 404;
  res.end('not found\n');
});
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  console.log(`listening ${issuer}`);
  if (process.argv[2]) fs.writeFileSync(process.argv[2], issuer + '\n');
});
process.on('SIGTERM', () => process.exit(0));
