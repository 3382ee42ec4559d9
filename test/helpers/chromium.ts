/** Debian's Chromium through playwright-core, headless (never a downloaded browser). */
import { chromium, type Browser } from 'playwright-core'
import { withTimeout } from './processes.js'

export async function launchChromium(): Promise<Browser> {
  return withTimeout(
    chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      timeout: 30_000,
    }),
    40_000,
    'chromium to launch',
  )
}
