// A small round-robin TCP load balancer, run as its own process (like a proxy in front of a
// deployment): each accepted connection is piped to the next backend in turn, so a keep-alive
// connection stays on the backend it was given. Prints `ready` once listening.
//
//   LISTEN_PORT=8080 BACKENDS=127.0.0.1:3001,127.0.0.1:3002 node bench/lib/balancer.mjs
import net from 'node:net'

const port = Number(process.env.LISTEN_PORT)
const backends = (process.env.BACKENDS ?? '')
  .split(',')
  .filter(Boolean)
  .map((entry) => {
    const at = entry.lastIndexOf(':')
    return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) }
  })
if (!Number.isInteger(port) || backends.length === 0) {
  process.stderr.write('LISTEN_PORT and BACKENDS=host:port,host:port are required\n')
  process.exit(2)
}

let next = 0
const server = net.createServer({ noDelay: true }, (client) => {
  const backend = backends[next]
  next = (next + 1) % backends.length
  const upstream = net.connect({ ...backend, noDelay: true })
  // Either side failing or closing ends both: the client sees a closed connection, never a hang.
  const close = () => {
    client.destroy()
    upstream.destroy()
  }
  client.on('error', close).on('close', close)
  upstream.on('error', close).on('close', close)
  client.pipe(upstream)
  upstream.pipe(client)
})
server.on('error', (error) => {
  process.stderr.write(`balancer: ${error.message}\n`)
  process.exit(1)
})
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'))
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0))
