// An open-loop load generator, run as its own process: requests leave at a fixed rate, evenly
// spaced, whether or not earlier answers have come back (at most `connections` in flight), and
// each latency is measured from the moment its request was due — so a stalled server shows as
// latency instead of silently lowering the load (coordinated omission). autocannon's own rate
// option sends each second's quota in a burst, which measures bursts, not steady latency.
//
//   node open-loop.mjs < {"targets": [{name, url, requests: [{method, path, headers, body}],
//                         bodies?: [...]}, …], "slice": 0.5, "rate", "seconds", "connections"}
// Prints one JSON line: { targets: { name: { sent, completed, errors, dropped, p50ms, p99ms,
// maxms, perSecond, lateP50ms, lateP99ms, slowest } } }.
//
// Each request carries `x-bench-seq: <n>` so that a server's loop probe (loop-probe.cjs) can say
// when it read that request and when it answered. `slowest` lists the slowest 1% (seq, when each
// was due, sent and answered, on the machine's monotonic clock in ms, the one the probe reads);
// `lateP50ms`/`lateP99ms` say how late this generator sent its requests (its timers fire on a
// 1 ms tick, and it shares the cores with the servers): that lateness is in every latency.
//
// The targets take turns, `slice` seconds each, until each has had `seconds` at `rate`. This
// machine's speed drifts by tens of percent within seconds; in slices of half a second every
// target sees the same drift, where consecutive 8-second runs could each catch a different phase
// of it. Each target's first slice is a warm-up, not counted: the generator opens its connections
// and compiles its code then, a stall of up to 100 ms that would otherwise fall on the first
// target's latencies (`bodies` must cover that slice too).
import http from 'node:http'

/** The monotonic clock in ms, the same in every process of this machine (loop-probe.cjs reads it too). */
const clock = () => Number(process.hrtime.bigint()) / 1e6

const input = JSON.parse(
  await new Promise((resolve) => {
    let text = ''
    process.stdin.on('data', (chunk) => (text += chunk)).on('end', () => resolve(text))
  }),
)
const { rate, seconds, connections = 50 } = input
const targets = input.targets.map((spec) => {
  const url = new URL(spec.url)
  return {
    ...spec,
    host: url.hostname,
    port: url.port,
    agent: new http.Agent({ keepAlive: true, maxSockets: connections, noDelay: true }),
    records: [],
    next: 0,
    sent: 0,
    inFlight: 0,
    errors: 0,
    dropped: 0,
  }
})
const inFlight = () => targets.reduce((sum, target) => sum + target.inFlight, 0)

function fire(target, due, counted) {
  const index = target.next++
  const template = target.requests[index % target.requests.length]
  const body = target.bodies ? target.bodies[index] : template.body
  const tally = counted ? target : { errors: 0, dropped: 0, records: [] }
  if (target.bodies && body === undefined) return void tally.dropped++
  // More than `connections` outstanding: the request would only queue inside the agent.
  if (target.inFlight >= connections) return void tally.dropped++
  target.inFlight++
  if (counted) target.sent++
  const seq = String(index)
  const called = clock()
  const request = http.request(
    {
      host: target.host,
      port: target.port,
      method: template.method,
      path: template.path,
      headers: {
        ...template.headers,
        'x-bench-seq': seq,
        ...(body ? { 'content-length': Buffer.byteLength(body) } : {}),
      },
      agent: target.agent,
    },
    (response) => {
      response.resume()
      response.on('end', () => {
        target.inFlight--
        if (response.statusCode >= 400) return void tally.errors++
        tally.records.push({ seq, due, called, ended: clock() })
      })
    },
  )
  request.on('error', () => {
    target.inFlight--
    tally.errors++
  })
  request.end(body)
}

// The schedule: slot j (of `slice` seconds) belongs to target j mod n; each slot carries
// rate × slice requests, evenly spaced from the slot's start; the first slot of each target is
// its warm-up.
const slice = Number(input.slice ?? 0.5)
const perSlot = Math.round(rate * slice)
const warmupSlots = targets.length
const slots = warmupSlots + targets.length * Math.ceil(seconds / slice)
const interval = 1000 / rate
const started = clock() + 50
let slot = 0
let inSlot = 0
const dueAt = () => started + slot * slice * 1000 + inSlot * interval
await new Promise((resolve) => {
  const tick = () => {
    const now = clock()
    while (slot < slots && dueAt() <= now) {
      fire(targets[slot % targets.length], dueAt(), slot >= warmupSlots)
      if (++inSlot === perSlot) {
        slot++
        inSlot = 0
      }
    }
    if (slot >= slots) return resolve()
    setTimeout(tick, Math.max(0, Math.min(1, dueAt() - clock())))
  }
  setTimeout(tick, 50)
})
const deadline = clock() + 10_000
while (inFlight() > 0 && clock() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))

/** The value at quantile q of an ascending list, in ms to a tenth; null for an empty one. */
const quantile = (sorted, q) =>
  sorted.length ? Number(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))].toFixed(1)) : null

function summary(target) {
  const latencies = target.records.map((record) => record.ended - record.due).sort((a, b) => a - b)
  const at = (q) => quantile(latencies, q)
  const late = target.records.map((record) => record.called - record.due).sort((a, b) => a - b)
  const byLatency = target.records.sort((a, b) => b.ended - b.due - (a.ended - a.due))
  return {
    sent: target.sent,
    completed: latencies.length,
    errors: target.errors,
    dropped: target.dropped,
    p50ms: at(0.5),
    p99ms: at(0.99),
    maxms: latencies.length ? Number(latencies.at(-1).toFixed(1)) : null,
    perSecond: Math.round(latencies.length / seconds),
    lateP50ms: quantile(late, 0.5),
    lateP99ms: quantile(late, 0.99),
    slowest: byLatency.slice(0, Math.ceil(byLatency.length / 100)),
  }
}
const result = { targets: Object.fromEntries(targets.map((target) => [target.name, summary(target)])) }
process.stdout.write(`${JSON.stringify(result)}\n`)
for (const target of targets) target.agent.destroy()
