// Preloaded into a benchmarked server (`node --require bench/lib/loop-probe.cjs …`, both
// providers alike) to show where a slow request waits: event-loop delay (a 1 ms timer's lateness,
// i.e. how long a request that arrived could not even be read), garbage-collection pauses, how
// busy the event loop was, and how long its thread was ready to run but waited for a CPU (Linux's
// run-queue time, /proc/thread-self/schedstat: another process or thread held both cores).
// While measuring it also notes, for each request carrying `x-bench-seq` (open-loop.mjs), when
// Node's HTTP server read it and when the handler handed its answer to Node (`response.end()`,
// wrapped here: the diagnostics channel's `response.finish` comes a loop turn after the bytes
// left, later still when the loop is busy), so that a slow request's time can be split between
// the load generator and the server (bench/lib/waits.mjs).
// Nothing is sent anywhere. SIGUSR2 starts a measurement, the next SIGUSR2 ends it and writes its
// figures to LOOP_PROBE_FILE (one JSON object with a sequence number); the 1 ms delay timer and
// the request notes run only while measuring, so throughput runs do not pay for them.
'use strict'
const diagnostics = require('node:diagnostics_channel')
const fs = require('node:fs')
const http = require('node:http')
const { monitorEventLoopDelay, PerformanceObserver, performance, constants } = require('node:perf_hooks')

const file = process.env.LOOP_PROBE_FILE
if (file) {
  const delay = monitorEventLoopDelay({ resolution: 1 })
  let measuring = false
  let gc = { count: 0, totalMs: 0, maxMs: 0, majorCount: 0, majorMs: 0 }
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count++
      gc.totalMs += entry.duration
      gc.maxMs = Math.max(gc.maxMs, entry.duration)
      if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        gc.majorCount++
        gc.majorMs += entry.duration
      }
    }
  }).observe({ entryTypes: ['gc'] })
  /**
   * The event-loop thread's run-queue figures: ns spent ready to run but not running, and how many
   * times it was put on a CPU. Undefined where Linux does not tell.
   */
  const runQueue = () => {
    try {
      const [, waitedNs, runs] = fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number)
      return { waitedNs, runs }
    } catch {
      return undefined
    }
  }
  /** The monotonic clock in ms, the one open-loop.mjs reads. */
  const clock = () => Number(process.hrtime.bigint()) / 1e6
  /** seq → [read, answered] on that clock. */
  let served = new Map()
  const onRead = ({ request }) => {
    const seq = request.headers['x-bench-seq']
    if (seq !== undefined) served.set(seq, [clock(), null])
  }
  let noting = false
  const end = http.ServerResponse.prototype.end
  http.ServerResponse.prototype.end = function endNoted(...args) {
    if (noting) {
      const times = served.get(this.req?.headers['x-bench-seq'])
      if (times && times[1] === null) times[1] = clock()
    }
    return end.apply(this, args)
  }
  /** The file is read while it may be written: a whole new file replaces it. */
  const write = (snapshot) => {
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(snapshot))
    fs.renameSync(`${file}.tmp`, file)
  }
  let queuedSince = runQueue()
  let utilization = performance.eventLoopUtilization()
  let since = performance.now()
  let sequence = 0
  /** A timer's lateness in ms: the histogram records the whole interval, the 1 ms resolution included. */
  const late = (ns) => Number(Math.max(0, ns / 1e6 - 1).toFixed(2))
  const start = () => {
    delay.reset()
    delay.enable()
    gc = { count: 0, totalMs: 0, maxMs: 0, majorCount: 0, majorMs: 0 }
    utilization = performance.eventLoopUtilization()
    queuedSince = runQueue()
    since = performance.now()
    served = new Map()
    noting = true
    diagnostics.subscribe('http.server.request.start', onRead)
    write({ sequence: ++sequence, started: true })
  }
  process.on('SIGUSR2', () => {
    measuring = !measuring
    if (measuring) return start()
    delay.disable()
    noting = false
    diagnostics.unsubscribe('http.server.request.start', onRead)
    const now = performance.now()
    const busy = performance.eventLoopUtilization(utilization)
    const queued = runQueue()
    const seconds = (now - since) / 1000
    const snapshot = {
      sequence: ++sequence,
      seconds: Number(seconds.toFixed(2)),
      loopDelayP50ms: late(delay.percentile(50)),
      loopDelayP99ms: late(delay.percentile(99)),
      loopDelayMaxMs: late(delay.max),
      loopUtilization: Number(busy.utilization.toFixed(3)),
      ...(queued === undefined || queuedSince === undefined
        ? {}
        : {
            cpuWaitMsPerSecond: Number(((queued.waitedNs - queuedSince.waitedNs) / 1e6 / seconds).toFixed(1)),
            // Mean wait from ready (a request arrived, a timer fired) to running.
            cpuWaitMeanUs: Math.round((queued.waitedNs - queuedSince.waitedNs) / 1e3 / Math.max(1, queued.runs - queuedSince.runs)),
          }),
      gcCount: gc.count,
      gcTotalMs: Number(gc.totalMs.toFixed(1)),
      gcMaxMs: Number(gc.maxMs.toFixed(2)),
      gcMajorCount: gc.majorCount,
      gcMajorMs: Number(gc.majorMs.toFixed(1)),
      rssMiB: Number((process.memoryUsage.rss() / 2 ** 20).toFixed(1)),
      served: Object.fromEntries(served),
    }
    served = new Map()
    write(snapshot)
  })
}
