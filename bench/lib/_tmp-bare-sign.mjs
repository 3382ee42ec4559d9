import Fastify from 'fastify'
import formbody from '@fastify/formbody'
import { SignJWT, generateKeyPair } from 'jose'
const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048 })
const LIMIT = Number(process.env.LIMIT ?? 1000)
let inflight = 0; const waiters = []
async function withSlot(fn) {
  if (inflight >= LIMIT) await new Promise((r) => waiters.push(r)); else inflight++
  try { return await fn() } finally { const next = waiters.shift(); if (next) next(); else inflight-- }
}
const app = Fastify()
await app.register(formbody)
app.post('/token', async (req, reply) => {
  const t = await withSlot(() => new SignJWT({ iss: 'http://127.0.0.1', sub: 'svc', aud: 'x', client_id: 'svc', scope: 'api:read', jti: 'abcdefghijklmnopqrstuv' }).setProtectedHeader({ alg: 'RS256', kid: 'k', typ: 'at+jwt' }).setIssuedAt().setExpirationTime('10m').sign(privateKey))
  return reply.header('cache-control', 'no-store').send({ access_token: t, token_type: 'Bearer', expires_in: 600, scope: 'api:read' })
})
await app.listen({ port: 4567, host: '127.0.0.1' })
process.on('SIGINT', () => process.exit(0))
