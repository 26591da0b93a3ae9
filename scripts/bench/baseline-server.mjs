// The baseline: bare node:http + pg doing the security work the API does for GET /v1/users/me. It
// verifies the ES256 access token with a key built once (algorithm, issuer, audience and type pinned),
// then loads session and user in one named statement, and answers the user as JSON. Nothing else.
//   BASELINE_PORT, DATABASE_URL, AUTH_JWT_PUBLIC_KEY (PEM), AUTH_ISSUER, AUTH_AUDIENCE
import { Buffer } from 'node:buffer';
import { createPublicKey } from 'node:crypto';
import { createServer } from 'node:http';
import jwt from 'jsonwebtoken';
import pg from 'pg';

const key = createPublicKey(process.env.AUTH_JWT_PUBLIC_KEY);
const verifyOptions = {
  algorithms: ['ES256'],
  issuer: process.env.AUTH_ISSUER,
  audience: process.env.AUTH_AUDIENCE,
  complete: true,
};
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const principalQuery = {
  name: 'baseline-principal',
  text: `SELECT s.revoked_at, u.id, u.email, u.name, u.role, u.status, u.created_at, u.updated_at
           FROM auth_sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`,
};

const send = (res, status, body) => {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
};

async function currentUser(req, res) {
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  let claims;
  try {
    const verified = jwt.verify(token ?? '', key, verifyOptions);
    if (verified.header.typ !== 'at+jwt') throw new Error('not an access token');
    claims = verified.payload;
  } catch {
    return send(res, 401, { title: 'Unauthorized' });
  }
  const { rows } = await pool.query({ ...principalQuery, values: [claims.sid] });
  const row = rows[0];
  if (!row || row.revoked_at || row.id !== claims.sub || row.status !== 'active') {
    return send(res, 401, { title: 'Unauthorized' });
  }
  const { id, email, name, role, status, created_at, updated_at } = row;
  return send(res, 200, { id, email, name, role, status, created_at, updated_at });
}

const server = createServer((req, res) => {
  if (req.url === '/v1/users/me') {
    currentUser(req, res).catch(() => send(res, 500, { title: 'Internal error' }));
  } else if (req.url === '/health/ready') {
    send(res, 200, { status: 'ok' });
  } else {
    send(res, 404, { title: 'Not found' });
  }
});
server.listen(Number(process.env.BASELINE_PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => pool.end().then(() => process.exit(0)));
  server.closeAllConnections();
});
