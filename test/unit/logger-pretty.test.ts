import t from 'tap'
import { prettyTarget } from '../../src/logger.js'

const installed = () => '/app/node_modules/pino-pretty/index.js'
const missing = () => {
  throw Object.assign(new Error("Cannot find module 'pino-pretty'"), { code: 'MODULE_NOT_FOUND' })
}

t.test('prettyTarget: pino-pretty on a terminal outside production when it is installed', async (t) => {
  t.equal(prettyTarget(true, 'development', installed), installed())
  t.equal(prettyTarget(true, 'test', installed), installed())
  t.equal(prettyTarget(true, undefined, installed), installed())
})

t.test('prettyTarget: JSON lines when pino-pretty is not installed (npm ci --omit=dev)', async (t) => {
  t.equal(prettyTarget(true, 'development', missing), undefined)
})

t.test('prettyTarget: JSON lines off a terminal or in production, without looking for pino-pretty', async (t) => {
  let looked = 0
  const counting = () => {
    looked++
    return installed()
  }
  t.equal(prettyTarget(false, 'development', counting), undefined)
  t.equal(prettyTarget(true, 'production', counting), undefined)
  t.equal(looked, 0)
})
