/**
 * The Grafana dashboard and the README's "Metrics and tracing" section against the metrics the
 * server really exports: every metric a panel queries exists, and every Tessera metric is named
 * in the README (and drawn on some panel).
 */
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import pino from 'pino'
import { createMetrics } from '../../src/metrics/metrics.js'
import { ROOT } from '../helpers/processes.js'

/** Every series name the registry writes (histograms as their _bucket, _sum and _count). */
async function exportedNames(): Promise<Set<string>> {
  const metrics = createMetrics('single')
  metrics.watch({
    hasher: { load: () => ({ running: 0, waiting: 0 }) },
    pool: () => ({ open: 1, idle: 1, waiting: 0 }),
    keys: { list: async () => [] },
    outbox: { backlog: async () => [] },
    clock: { now: () => 0 },
    log: pino({ level: 'silent' }),
  })
  const names = new Set<string>()
  for (const metric of await metrics.snapshot()) {
    names.add(metric.name)
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`)
  }
  return names
}

interface Panel {
  readonly title?: string
  readonly targets?: readonly { readonly expr: string }[]
}

t.test('the dashboard queries only metrics that exist, and draws every Tessera metric', async (t) => {
  const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/grafana-dashboard.json'), 'utf8')) as { panels: Panel[] }
  const exported = await exportedNames()
  const queried = new Set<string>()
  for (const panel of dashboard.panels)
    for (const target of panel.targets ?? []) {
      for (const name of target.expr.match(/\b(?:tessera|nodejs|process)_[a-z0-9_]+\b/g) ?? []) {
        queried.add(name.replace(/_(bucket|sum|count)$/, ''))
        t.ok(exported.has(name), `${panel.title}: ${name} is exported`)
      }
    }
  for (const name of exported) {
    if (name.startsWith('tessera_') && !/_(bucket|sum|count)$/.test(name)) t.ok(queried.has(name), `a panel shows ${name}`)
  }
})

t.test('the README names every Tessera metric', async (t) => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(
    readme.indexOf('## Metrics and tracing'),
    readme.indexOf('\n## ', readme.indexOf('## Metrics and tracing') + 1),
  )
  t.ok(section.length > 100, 'the section exists')
  for (const name of await exportedNames())
    if (name.startsWith('tessera_') && !/_(bucket|sum|count)$/.test(name)) t.ok(section.includes(`\`${name}\``), `${name} is documented`)
})
