/**
 * A TCP proxy on loopback for database-outage tests (not a test file): Tessera's DATABASE_URL
 * names the proxy, which forwards bytes both ways to the real server. `cut(mode)` simulates the
 * database going away and `restore()` brings it back, without touching the database itself:
 *
 * - 'reset': every open connection is destroyed and new ones are accepted then destroyed at once
 *   (the server stopped: clients see the connection end).
 * - 'blackhole': every open connection is destroyed and new ones are accepted but never answered
 *   (a network that drops packets: only the client's own timeouts end the wait).
 * - 'freeze': open connections stay open but nothing is forwarded any more, in either direction,
 *   and new ones are accepted but never answered (a network partition seen from the client).
 *
 * `latencyMs` delays every chunk in both directions (order kept), so that a test can be sure
 * queries are in flight when it cuts.
 */
import net from 'node:net'

export type OutageMode = 'reset' | 'blackhole' | 'freeze'

export interface ProxyTarget {
  readonly host: string
  readonly port: number
}

interface Link {
  readonly client: net.Socket
  readonly upstream: net.Socket | undefined
}

export class TcpProxy {
  readonly #server: net.Server
  #port = 0
  #outage: OutageMode | null = null
  /** Added to every chunk forwarded, in both directions. */
  latencyMs = 0
  readonly #links = new Set<Link>()
  readonly #frozen = new Set<Link>()

  private constructor(readonly target: ProxyTarget) {
    this.#server = net.createServer((client) => this.#accept(client))
    this.#server.on('error', () => undefined)
  }

  /** Listens on an ephemeral loopback port. */
  static async start(target: ProxyTarget): Promise<TcpProxy> {
    const proxy = new TcpProxy(target)
    await proxy.#listen(0)
    return proxy
  }

  get port(): number {
    return this.#port
  }

  get outage(): OutageMode | null {
    return this.#outage
  }

  /** Open client connections (forwarded or held). */
  get openConnections(): number {
    return this.#links.size
  }

  #listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject)
        this.#port = (this.#server.address() as net.AddressInfo).port
        resolve()
      })
    })
  }

  #accept(client: net.Socket): void {
    client.on('error', () => undefined)
    if (this.#outage === 'reset') {
      client.destroy()
      return
    }
    if (this.#outage !== null) {
      // blackhole / freeze: hold the connection, read and drop whatever the client sends.
      const link: Link = { client, upstream: undefined }
      this.#links.add(link)
      client.on('data', () => undefined)
      client.on('close', () => this.#links.delete(link))
      return
    }
    const upstream = net.connect(this.target.port, this.target.host)
    upstream.on('error', () => undefined)
    const link: Link = { client, upstream }
    this.#links.add(link)
    const close = () => {
      client.destroy()
      upstream.destroy()
      this.#links.delete(link)
    }
    client.on('close', close)
    upstream.on('close', close)
    this.#forward(client, upstream, link)
    this.#forward(upstream, client, link)
  }

  /** Copies `from` to `to` after `latencyMs`, in order; a frozen link forwards nothing. */
  #forward(from: net.Socket, to: net.Socket, link: Link): void {
    let due = 0
    from.on('data', (chunk: Buffer) => {
      if (this.#frozen.has(link)) return
      due = Math.max(due, Date.now() + this.latencyMs)
      const write = () => {
        if (!this.#frozen.has(link) && !to.destroyed) to.write(chunk)
      }
      if (due <= Date.now()) write()
      else setTimeout(write, due - Date.now())
    })
  }

  /** Starts an outage (see the module comment for the modes). */
  async cut(mode: OutageMode): Promise<void> {
    if (this.#outage !== null) throw new Error(`already in outage ${this.#outage}`)
    this.#outage = mode
    if (mode === 'freeze') {
      for (const link of this.#links) this.#frozen.add(link)
      return
    }
    for (const { client, upstream } of [...this.#links]) {
      client.destroy()
      upstream?.destroy()
    }
    this.#links.clear()
  }

  /**
   * Ends the outage: new connections are forwarded again. Connections held during the outage and
   * frozen ones are dropped (the database restarted meanwhile: the client's next packet is reset).
   */
  async restore(): Promise<void> {
    if (this.#outage === null) return
    for (const link of [...this.#links]) {
      if (link.upstream !== undefined && !this.#frozen.has(link)) continue
      link.client.destroy()
      link.upstream?.destroy()
    }
    this.#frozen.clear()
    this.#outage = null
  }

  async close(): Promise<void> {
    for (const { client, upstream } of this.#links) {
      client.destroy()
      upstream?.destroy()
    }
    this.#links.clear()
    await new Promise<void>((resolve) => (this.#server.listening ? this.#server.close(() => resolve()) : resolve()))
  }
}
