// The reference for JWKS and discovery: a bare Fastify route serving the same bytes with the same
// content type. Bodies come from files named in the environment.
import fs from 'node:fs'
import Fastify from 'fastify'

const app = Fastify({ logger: false })
for (const [route, file] of [['/jwks', process.env.JWKS_FILE], ['/discovery', process.env.DISCOVERY_FILE]]) {
  const body = fs.readFileSync(file)
  app.get(route, (_request, reply) => reply.header('content-type', 'application/json; charset=utf-8').send(body))
}
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.stdout.write('{"ready":true}\n')
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
