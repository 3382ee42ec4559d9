/**
 * A browser for route tests: its own cookie jar (the device cookie included) at one client
 * address, posting forms the way a person does (GET the page for its anti-forgery token, POST
 * with the same-origin Origin header).
 */
import { CookieJar, hiddenField } from './browser-flow.js'
import type { TestApp } from './test-app.js'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' } as const

export class FormBrowser {
  readonly jar = new CookieJar()
  constructor(
    private readonly ctx: TestApp,
    public ip: string,
  ) {}

  async post(path: string, form: Record<string, string>, page = path): Promise<{ status: number; retryAfter: string | undefined }> {
    const get = await this.ctx.app.inject({ method: 'GET', url: page, remoteAddress: this.ip, headers: { cookie: this.jar.header() } })
    this.jar.store(get)
    const response = await this.ctx.app.inject({
      method: 'POST',
      url: path,
      remoteAddress: this.ip,
      headers: { ...FORM, cookie: this.jar.header(), origin: new URL(this.ctx.issuer).origin },
      payload: new URLSearchParams({ _csrf: hiddenField(get.body, '_csrf'), ...form }).toString(),
    })
    this.jar.store(response)
    return { status: response.statusCode, retryAfter: response.headers['retry-after'] as string | undefined }
  }

  async login(email: string, password: string): Promise<number> {
    return (await this.post('/login', { interaction: '', email, password })).status
  }

  /** Signs out but keeps the device cookie, like ending the session on a shared computer. */
  forgetSession(): void {
    for (const name of [...this.jar.cookies.keys()]) if (name !== 'tessera_device') this.jar.cookies.delete(name)
  }
}
