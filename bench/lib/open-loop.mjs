// An open-loop load generator, run as its own process: requests leave at a fixed rate, evenly
// spaced, whether or not earlier answers have come back (at most `connections` in flight), and
// each latency is measured from the moment its request was due — so a stalled server shows as
// latency instead of silently lowering the load (coordinated omission). autocannon's own rate
// option sends each second's quota in a burst, which measures bursts, not steady latency.
//
//   node open-loop.mjs < {"url", "requests": [{method, path, headers, body}], "bodies"?: [...],
//                         "rate", "seconds", "connections"}
// Prints one JSON line: { sent, completed, errors, dropped, p50ms, p99ms, maxms, perSecond }.
import http from 'node:http'

const input = JSON.parse(
  await new Promise((resolve) => {
    let text = ''
    process.stdin.on('data', (chunk) => (text += chunk)).on('end', () => resolve(text))
  }),
)
const { url, requests, bodies, rate, seconds, connections = 50 } = input
const target = new URL(url)
const agent = new http.Agent({ keepAlive: true, maxSockets: connections, noDelay: true })
const latencies = []
let sent = 0
let inFlight = 0
let errors = 0
let dropped = 0

function fire(due, index) {
  const template = requests[index % requests.length]
  const body = bodies ? bodies[index] : template.body
  if (bodies && body === undefined) return void dropped++
  inFlight++
  sent++
  const request = http.request(
    {
      host: target.hostname,
      port: target.port,
      method: template.method,
      path: template.path,
      headers: { ...template.headers, ...(body ? { 'content-length': Buffer.byteLength(body) } : {}) },
      agent,
    },
    (response) => {
      response.resume()
      response.on('end', () => {
        inFlight--
        if (response.statusCode >= 400) errors++
        else latencies.push(performance.now() - due)
      })
    },
  )
  request.on('error', () => {
    inFlight--
    errors++
  })
  request.end(body)
}

const interval = 1000 / rate
const started = performance.now() + 50
const total = Math.round(rate * seconds)
let next = 0
await new Promise((resolve) => {
  const tick = () => {
    const now = performance.now()
    while (next < total && started + next * interval <= now) {
      // More than `connections` outstanding: the request would only queue inside the agent.
      if (inFlight >= connections) dropped++
      else fire(started + next * interval, next)
      next++
    }
    if (next >= total) return resolve()
    setTimeout(tick, Math.max(0, Math.min(1, started + next * interval - performance.now())))
  }
  setTimeout(tick, 50)
})
const deadline = performance.now() + 10_000
while (inFlight > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
latencies.sort((a, b) => a - b)
const at = (q) => (latencies.length ? Number(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))].toFixed(1)) : null)
process.stdout.write(
  `${JSON.stringify({ sent, completed: latencies.length, errors, dropped, p50ms: at(0.5), p99ms: at(0.99), maxms: latencies.length ? Number(latencies.at(-1).toFixed(1)) : null, perSecond: Math.round(latencies.length / seconds) })}\n`,
)
agent.destroy()
