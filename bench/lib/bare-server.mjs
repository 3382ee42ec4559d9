// The reference for JWKS and discovery: a bare Fastify route serving the same bytes — the same
// body and the same response headers Tessera sent — so the comparison measures the provider's
// per-request work, not header sizes. Bodies and headers come from JSON files named in the
// environment ({ headers, body }).
import fs from 'node:fs'
import Fastify from 'fastify'

const app = Fastify({ logger: false })
for (const [route, file] of [
  ['/jwks', process.env.JWKS_FILE],
  ['/discovery', process.env.DISCOVERY_FILE],
]) {
  const { headers, body } = JSON.parse(fs.readFileSync(file, 'utf8'))
  app.get(route, (_request, reply) => reply.headers(headers).send(body))
}
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.stdout.write('{"ready":true}\n')
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
