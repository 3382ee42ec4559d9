// Where the slowest requests of an open-loop run spent their time, joined from both ends: the
// load generator's record of each (open-loop.mjs `slowest`: when it was due, sent and answered)
// and the server's (loop-probe.cjs `served`: when Node's HTTP server read it and when the handler
// handed its answer to Node), all on the machine's monotonic clock.

const hundredths = (value) => Number(value.toFixed(2))

/**
 * Mean ms per phase over the slowest requests the server also noted: `generator` (sent after it
 * was due: the generator's own timer tick or a wait for a CPU), `beforeRead` (sent, not yet read:
 * the kernel, and the server's event loop busy or waiting for a CPU), `inServer` (read to
 * answered: the handler, the database, signing threads, GC) and `afterAnswer` (the bytes written,
 * on their way back, and the generator reading them). Undefined when there is nothing to join.
 */
export function slowestWaits(slowest, served) {
  if (!slowest?.length || !served) return undefined
  const sums = { latency: 0, generator: 0, beforeRead: 0, inServer: 0, afterAnswer: 0 }
  let requests = 0
  for (const request of slowest) {
    const [read, answered] = served[request.seq] ?? []
    if (read == null || answered == null) continue
    requests++
    sums.latency += request.ended - request.due
    sums.generator += request.called - request.due
    sums.beforeRead += read - request.called
    sums.inServer += answered - read
    sums.afterAnswer += request.ended - answered
  }
  if (requests === 0) return undefined
  return { requests, ...Object.fromEntries(Object.entries(sums).map(([phase, sum]) => [phase, hundredths(sum / requests)])) }
}
