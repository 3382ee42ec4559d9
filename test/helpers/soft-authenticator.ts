/**
 * A software WebAuthn authenticator for HTTP tests: it answers the options Tessera sends with
 * real registration and authentication responses (ES256 keys from node:crypto, CBOR from the
 * same encoder @simplewebauthn/server decodes with, "none" attestation), and can be told to
 * misbehave: another RP ID or origin, no user verification, a counter that goes backwards.
 * The browser end-to-end test uses Chromium's own virtual authenticator instead.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'
import { encodeCBOR, type CBORType } from '@levischuck/tiny-cbor'

interface Credential {
  readonly id: Buffer
  readonly privateKey: KeyObject
  readonly cosePublicKey: Uint8Array
  readonly userHandle: string
  counter: number
}

export interface Misbehaviour {
  readonly rpId?: string
  readonly origin?: string
  readonly userVerified?: boolean
  /** Sign with this counter instead of the next one. */
  readonly counter?: number
  /** Answer this challenge instead of the one in the options. */
  readonly challenge?: string
  /** Use this credential (by index in registration order) instead of choosing one. */
  readonly credential?: number
}

const b64url = (bytes: Uint8Array | Buffer | string) => Buffer.from(bytes).toString('base64url')
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest()

interface CreationOptions {
  readonly challenge: string
  readonly rp: { readonly id?: string }
  readonly user: { readonly id: string }
}

interface RequestOptions {
  readonly challenge: string
  readonly rpId?: string
  readonly allowCredentials?: readonly { readonly id: string }[]
}

export class SoftAuthenticator {
  readonly credentials: Credential[] = []

  /**
   * `synced`: the credential says it is backed up (a synced passkey: amr swk); otherwise it is
   * bound to this device (hwk). `counting`: the authenticator keeps a signature counter.
   */
  constructor(
    private readonly origin: string,
    private readonly options: { readonly synced?: boolean; readonly counting?: boolean } = {},
  ) {}

  private flags(userVerified: boolean, attested: boolean): number {
    const backup = this.options.synced ? 0x08 | 0x10 : 0
    return 0x01 | (userVerified ? 0x04 : 0) | backup | (attested ? 0x40 : 0)
  }

  private clientData(type: string, challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }))
  }

  private authData(rpId: string, flags: number, counter: number, attested?: Buffer): Buffer {
    const count = Buffer.alloc(4)
    count.writeUInt32BE(counter)
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), count, ...(attested ? [attested] : [])])
  }

  /** navigator.credentials.create(), as JSON the way @simplewebauthn/browser posts it. */
  register(options: CreationOptions, misbehave: Misbehaviour = {}): Record<string, unknown> {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    const jwk = publicKey.export({ format: 'jwk' })
    const cose = encodeCBOR(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    )
    const id = randomBytes(16)
    const credential: Credential = {
      id,
      privateKey,
      cosePublicKey: cose,
      userHandle: options.user.id,
      counter: this.options.counting ? 1 : 0,
    }
    const idLength = Buffer.alloc(2)
    idLength.writeUInt16BE(id.length)
    const attested = Buffer.concat([Buffer.alloc(16), idLength, id, Buffer.from(cose)])
    const rpId = misbehave.rpId ?? options.rp.id ?? new URL(this.origin).hostname
    const authData = this.authData(rpId, this.flags(misbehave.userVerified ?? true, true), credential.counter, attested)
    const attestation = new Map<string, CBORType>([
      ['fmt', 'none'],
      ['attStmt', new Map<string, CBORType>()],
      ['authData', new Uint8Array(authData)],
    ])
    const attestationObject = encodeCBOR(attestation)
    this.credentials.push(credential)
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(
          this.clientData('webauthn.create', misbehave.challenge ?? options.challenge, misbehave.origin ?? this.origin),
        ),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    }
  }

  /** navigator.credentials.get(), as JSON. */
  authenticate(options: RequestOptions, misbehave: Misbehaviour = {}): Record<string, unknown> {
    const allowed = (options.allowCredentials ?? []).map((entry) => entry.id)
    const credential =
      misbehave.credential !== undefined
        ? this.credentials[misbehave.credential]
        : this.credentials.find((candidate) => allowed.length === 0 || allowed.includes(b64url(candidate.id)))
    if (!credential) throw new Error('the soft authenticator holds no matching credential')
    if (this.options.counting) credential.counter += 1
    const counter = misbehave.counter ?? credential.counter
    const rpId = misbehave.rpId ?? options.rpId ?? new URL(this.origin).hostname
    const authenticatorData = this.authData(rpId, this.flags(misbehave.userVerified ?? true, false), counter)
    const clientDataJSON = this.clientData('webauthn.get', misbehave.challenge ?? options.challenge, misbehave.origin ?? this.origin)
    const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), credential.privateKey)
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authenticatorData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    }
  }
}
