// peerrelay.js: a dependency-free browser client for a PeerRelay (or ProxyStore) relay server.
// Served by the relay at /peerrelay.js. Documentation: docs/browser.md.
//
//   import { RelayClient, PeerManager } from '/peerrelay.js';
//   const relay = new RelayClient('wss://relay.example.org/', { name: 'laptop', token });
//   const peers = new PeerManager(relay);
//   peers.addEventListener('peer', (e) => e.detail.link.addEventListener('message', ...));
//   await relay.connect();
//   const link = peers.connect(otherUuid);          // offer, answer and ICE candidates go through the relay
//   link.addEventListener('open', () => link.send('hello'));

/** Close codes after which a client must not reconnect (PROTOCOL.md: unauthorized, forbidden, duplicate UUID). */
export const FINAL_CLOSE_CODES = Object.freeze(new Set([4001, 4002, 4004]));

const CLOSE_MEANINGS = {
  1000: 'normal close',
  1001: 'server going away',
  1006: 'connection lost or refused',
  1009: 'message too big',
  4000: 'undecodable message',
  4001: 'unauthorized',
  4002: 'forbidden',
  4003: 'message over the size limit',
  4004: 'same UUID registered from another socket',
};

/** Describes a WebSocket close code for people. */
export function describeCloseCode(code) {
  return CLOSE_MEANINGS[code] ?? 'closed';
}

/** A random version-4 UUID in canonical lower-case form (also in non-secure contexts, where crypto.randomUUID is missing). */
export function randomUuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `value` is a UUID string the relay accepts. */
export function isUuid(value) {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

/**
 * One WebSocket to the relay. Registers on every (re)connect, delivers `peer_connection` messages, reconnects
 * with capped exponential back-off and jitter (1 s doubling to 60 s by default), but never after 4001, 4002 or
 * 4004, nor after close().
 *
 * Events: `state` (detail.state: connecting, registering, registered, reconnecting, closed), `registered`,
 * `peerconnection` (detail.message: a message from another peer), `peererror` (detail.message: our own message
 * returned by the relay with `error` set, e.g. the peer is not connected), `disconnected` (detail: code, reason,
 * final, retryInMs), `relayerror` (detail.message: a `relay_response` with `success: false`).
 */
export class RelayClient extends EventTarget {
  #address;
  #socket = null;
  #state = 'idle';
  #attempt = 0;
  #timer = null;
  #registrationTimer = null;
  #closedByUser = false;
  #firstRegistration = null;
  #options;

  /**
   * @param {string} address ws:// or wss:// address of the relay.
   * @param {object} [options]
   * @param {string} [options.name] Name shown to peers. Default `browser`.
   * @param {string} [options.uuid] This client's UUID. Default a random one.
   * @param {string} [options.token] Bearer token, sent as the `access_token` query parameter (browsers cannot set
   *   WebSocket headers).
   * @param {boolean} [options.reconnect] Reconnect after recoverable closes. Default true.
   * @param {number} [options.initialDelayMs] First reconnect delay. Default 1000.
   * @param {number} [options.maxDelayMs] Largest reconnect delay. Default 60000.
   * @param {number} [options.registrationTimeoutMs] How long to wait for the `relay_response`. Default 10000.
   */
  constructor(address, options = {}) {
    super();
    if (typeof address !== 'string' || !/^wss?:\/\//i.test(address)) {
      throw new TypeError(`Relay address must start with ws:// or wss://, got ${JSON.stringify(address)}.`);
    }
    const uuid = options.uuid ?? randomUuid();
    if (!isUuid(uuid)) {
      throw new TypeError(`Not a UUID: ${JSON.stringify(uuid)}.`);
    }
    this.#options = {
      name: options.name ?? 'browser',
      uuid: uuid.toLowerCase(),
      token: options.token ?? null,
      reconnect: options.reconnect ?? true,
      initialDelayMs: options.initialDelayMs ?? 1000,
      maxDelayMs: options.maxDelayMs ?? 60000,
      registrationTimeoutMs: options.registrationTimeoutMs ?? 10000,
    };
    const url = new URL(address);
    if (this.#options.token) {
      url.searchParams.set('access_token', this.#options.token);
    }
    this.#address = url.toString();
  }

  /** This client's UUID. */
  get uuid() { return this.#options.uuid; }

  /** This client's name. */
  get name() { return this.#options.name; }

  /** connecting, registering, registered, reconnecting, closed (or idle before connect()). */
  get state() { return this.#state; }

  /**
   * Connects and registers. Resolves on the first successful registration; rejects if the relay refuses for good
   * (4001, 4002, 4004, `success: false`) or close() is called first. Later reconnects happen on their own.
   */
  connect() {
    if (this.#firstRegistration) {
      return this.#firstRegistration.promise;
    }
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    this.#firstRegistration = { promise, resolve, reject, settled: false };
    this.#closedByUser = false;
    this.#open();
    return promise;
  }

  /**
   * Sends a `peer_connection` message to `peerUuid`.
   * @param {string} peerUuid The receiving peer.
   * @param {string} descriptionType `offer`, `answer` or `candidate`.
   * @param {string} description The description, itself a JSON string (`{"sdp": ..., "type": ...}` or a candidate).
   * @returns {boolean} false when not registered (nothing was sent).
   */
  send(peerUuid, descriptionType, description) {
    if (this.#state !== 'registered' || this.#socket?.readyState !== WebSocket.OPEN) {
      return false;
    }
    this.#socket.send(JSON.stringify({
      source_uuid: this.#options.uuid,
      source_name: this.#options.name,
      peer_uuid: peerUuid,
      description_type: descriptionType,
      description,
      error: null,
      message_type: 'peer_connection',
    }));
    return true;
  }

  /** Closes the connection for good (no reconnect). */
  close() {
    this.#closedByUser = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#registrationTimer);
    this.#socket?.close(1000);
    this.#settleFirst(new Error('Relay client closed.'));
    this.#setState('closed');
  }

  #setState(state) {
    if (this.#state !== state) {
      this.#state = state;
      this.dispatchEvent(new CustomEvent('state', { detail: { state } }));
    }
  }

  #settleFirst(error) {
    const first = this.#firstRegistration;
    if (first && !first.settled) {
      first.settled = true;
      if (error) {
        first.reject(error);
      } else {
        first.resolve();
      }
    }
  }

  #open() {
    this.#setState('connecting');
    let socket;
    try {
      socket = new WebSocket(this.#address);
    } catch (error) {
      this.#settleFirst(error);
      this.#setState('closed');
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      this.#setState('registering');
      socket.send(JSON.stringify({ name: this.#options.name, uuid: this.#options.uuid, message_type: 'relay_registration' }));
      this.#registrationTimer = setTimeout(() => {
        // Code 4000 from the client side: a registration that never got its answer; the relay is retried.
        socket.close(4000, 'No relay_response to the registration.');
      }, this.#options.registrationTimeoutMs);
    };
    socket.onmessage = (event) => this.#onMessage(socket, event.data);
    socket.onclose = (event) => this.#onClose(socket, event.code, event.reason);
  }

  #onMessage(socket, data) {
    if (typeof data !== 'string') {
      return;
    }
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message?.message_type === 'relay_response') {
      if (this.#state === 'registering') {
        clearTimeout(this.#registrationTimer);
        if (message.success) {
          this.#attempt = 0;
          this.#setState('registered');
          this.dispatchEvent(new CustomEvent('registered', { detail: { uuid: this.uuid, name: this.name } }));
          this.#settleFirst(null);
        } else {
          // A refused registration is final, as in ProxyStore's client.
          this.#closedByUser = true;
          this.#settleFirst(new Error(`Registration refused: ${message.message}`));
          socket.close(1000);
        }
      } else if (!message.success || message.error) {
        this.dispatchEvent(new CustomEvent('relayerror', { detail: { message } }));
      }
    } else if (message?.message_type === 'peer_connection') {
      const type = message.error ? 'peererror' : 'peerconnection';
      this.dispatchEvent(new CustomEvent(type, { detail: { message } }));
    }
  }

  #onClose(socket, code, reason) {
    if (socket !== this.#socket) {
      return;
    }
    clearTimeout(this.#registrationTimer);
    this.#socket = null;
    const final = this.#closedByUser || !this.#options.reconnect || FINAL_CLOSE_CODES.has(code);
    let retryInMs = null;
    if (!final) {
      const base = Math.min(this.#options.maxDelayMs, this.#options.initialDelayMs * 2 ** this.#attempt);
      retryInMs = Math.round(base * (0.8 + Math.random() * 0.4));
      this.#attempt += 1;
    }
    this.dispatchEvent(new CustomEvent('disconnected', { detail: { code, reason, final, retryInMs, meaning: describeCloseCode(code) } }));
    if (final) {
      this.#settleFirst(new Error(`Relay closed the connection: ${code} ${describeCloseCode(code)}${reason ? ` (${reason})` : ''}.`));
      this.#setState('closed');
      return;
    }
    this.#setState('reconnecting');
    this.#timer = setTimeout(() => this.#open(), retryInMs);
  }
}

/**
 * Negotiates RTCPeerConnections with other peers through a RelayClient: sends offers (connect()), answers
 * incoming offers, and trickles ICE candidates as `candidate` messages (description: the JSON of
 * RTCIceCandidate.toJSON(); an empty `candidate` marks the end). With `trickle: false` it waits for ICE
 * gathering to finish and sends no `candidate` messages: what ProxyStore's aiortc peers expect.
 *
 * Events: `peer` (detail.link: a PeerLink created for an incoming offer).
 */
export class PeerManager extends EventTarget {
  #relay;
  #links = new Map();
  #options;

  /**
   * @param {RelayClient} relay The relay client.
   * @param {object} [options]
   * @param {RTCConfiguration} [options.rtcConfiguration] Default `{ iceServers: [] }` (host candidates only); add
   *   STUN/TURN servers for peers behind NAT.
   * @param {boolean} [options.trickle] Send candidates as they are found. Default true.
   * @param {(candidate: RTCIceCandidateInit) => boolean} [options.candidateFilter] Keeps only the local and remote
   *   candidates it returns true for (e.g. loopback-only tests). Default: keep all.
   * @param {string} [options.channelLabel] Label of the data channel the offerer opens. Default `peerrelay`.
   * @param {number} [options.gatheringTimeoutMs] Longest wait for ICE gathering when not trickling. Default 10000.
   */
  constructor(relay, options = {}) {
    super();
    this.#relay = relay;
    this.#options = {
      rtcConfiguration: options.rtcConfiguration ?? { iceServers: [] },
      trickle: options.trickle ?? true,
      candidateFilter: options.candidateFilter ?? null,
      channelLabel: options.channelLabel ?? 'peerrelay',
      gatheringTimeoutMs: options.gatheringTimeoutMs ?? 10000,
    };
    relay.addEventListener('peerconnection', (e) => this.#onMessage(e.detail.message));
    relay.addEventListener('peererror', (e) => {
      const message = e.detail.message;
      this.#links.get(message.peer_uuid)?._relayError(message);
    });
  }

  /** The link to `peerUuid`, if any. */
  get(peerUuid) {
    return this.#links.get(peerUuid.toLowerCase());
  }

  /** Offers a connection to `peerUuid` and returns its PeerLink (replacing any earlier link to that peer). */
  connect(peerUuid) {
    if (!isUuid(peerUuid)) {
      throw new TypeError(`Not a UUID: ${JSON.stringify(peerUuid)}.`);
    }
    const link = this.#newLink(peerUuid.toLowerCase(), null, 'offerer');
    link._offer().catch((error) => link._fail(error));
    return link;
  }

  #newLink(peerUuid, peerName, role) {
    this.#links.get(peerUuid)?.close();
    const link = new PeerLink(this.#relay, peerUuid, peerName, role, this.#options);
    this.#links.set(peerUuid, link);
    link.addEventListener('close', () => {
      if (this.#links.get(peerUuid) === link) {
        this.#links.delete(peerUuid);
      }
    });
    return link;
  }

  #onMessage(message) {
    const peerUuid = String(message.source_uuid).toLowerCase();
    if (message.description_type === 'offer') {
      const existing = this.#links.get(peerUuid);
      if (existing?.role === 'offerer' && !existing.isOpen && this.#relay.uuid < peerUuid) {
        // Both sides offered at once: the peer with the smaller UUID keeps its offer, the other answers it.
        existing._step('ignored colliding offer', 'the other peer answers ours');
        return;
      }
      const link = this.#newLink(peerUuid, message.source_name, 'answerer');
      this.dispatchEvent(new CustomEvent('peer', { detail: { link } }));
      link._answer(message.description).catch((error) => link._fail(error));
      return;
    }
    const link = this.#links.get(peerUuid);
    if (!link) {
      return;
    }
    if (message.description_type === 'answer') {
      link._acceptAnswer(message.description).catch((error) => link._fail(error));
    } else if (message.description_type === 'candidate') {
      link._addCandidate(message.description).catch((error) => link._step('candidate rejected', String(error)));
    } else {
      link._step('ignored message', `unknown description_type ${message.description_type}`);
    }
  }
}

/**
 * One WebRTC connection to one peer, negotiated through the relay.
 *
 * Events: `step` (detail: step, info), `open` (data channel open), `message` (detail.data), `close`,
 * `error` (detail.error).
 */
export class PeerLink extends EventTarget {
  #relay;
  #options;
  #pendingCandidates = [];
  #unsentCandidates = [];
  #descriptionSent = false;
  #closed = false;

  constructor(relay, peerUuid, peerName, role, options) {
    super();
    this.#relay = relay;
    this.#options = options;
    /** The remote peer's UUID. */
    this.peerUuid = peerUuid;
    /** The remote peer's name (known once it has sent something). */
    this.peerName = peerName;
    /** `offerer` or `answerer`. */
    this.role = role;
    /** The RTCDataChannel, once there is one. */
    this.channel = null;
    /** The underlying RTCPeerConnection. */
    this.pc = new RTCPeerConnection(options.rtcConfiguration);
    this.pc.addEventListener('icecandidate', (e) => this.#onLocalCandidate(e.candidate));
    this.pc.addEventListener('iceconnectionstatechange', () => {
      this._step('ICE state', this.pc.iceConnectionState);
      if (this.pc.iceConnectionState === 'failed') {
        this._fail(new Error('ICE failed: no candidate pair works (NAT or firewall between the peers? add a TURN server)'));
      }
    });
    this.pc.addEventListener('connectionstatechange', () => this._step('connection state', this.pc.connectionState));
    this.pc.addEventListener('icegatheringstatechange', () => this._step('ICE gathering', this.pc.iceGatheringState));
    this.pc.addEventListener('datachannel', (e) => this.#useChannel(e.channel));
  }

  /** True once the data channel is open. */
  get isOpen() { return this.channel?.readyState === 'open'; }

  /** Sends text or binary data on the data channel. */
  send(data) {
    if (!this.isOpen) {
      throw new Error('The data channel is not open.');
    }
    this.channel.send(data);
  }

  /** Closes the data channel and the peer connection. */
  close() {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.channel?.close();
    this.pc.close();
    this.dispatchEvent(new Event('close'));
  }

  _step(step, info = '') {
    this.dispatchEvent(new CustomEvent('step', { detail: { step, info } }));
  }

  _fail(error) {
    this.dispatchEvent(new CustomEvent('error', { detail: { error } }));
  }

  _relayError(message) {
    this._fail(new Error(`Relay could not deliver our ${message.description_type}: ${message.error}`));
  }

  async _offer() {
    this.#useChannel(this.pc.createDataChannel(this.#options.channelLabel));
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await this.#sendDescription();
  }

  async _answer(description) {
    this._step('offer received', this.peerName ?? this.peerUuid);
    await this.pc.setRemoteDescription(this.#parseDescription(description));
    await this.#flushCandidates();
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    await this.#sendDescription();
  }

  async _acceptAnswer(description) {
    this._step('answer received', this.peerName ?? this.peerUuid);
    await this.pc.setRemoteDescription(this.#parseDescription(description));
    await this.#flushCandidates();
  }

  async _addCandidate(description) {
    const init = JSON.parse(description);
    if (!init.candidate) {
      this._step('remote candidates complete');
      if (this.pc.remoteDescription) {
        await this.pc.addIceCandidate();
      }
      return;
    }
    if (this.#options.candidateFilter && !this.#options.candidateFilter(init)) {
      this._step('remote candidate skipped', init.candidate);
      return;
    }
    this._step('remote candidate', init.candidate);
    if (this.pc.remoteDescription) {
      await this.pc.addIceCandidate(init);
    } else {
      this.#pendingCandidates.push(init);
    }
  }

  async #flushCandidates() {
    const pending = this.#pendingCandidates;
    this.#pendingCandidates = [];
    for (const init of pending) {
      await this.pc.addIceCandidate(init);
    }
  }

  #parseDescription(description) {
    const parsed = JSON.parse(description);
    if (typeof parsed?.sdp !== 'string' || (parsed.type !== 'offer' && parsed.type !== 'answer')) {
      throw new Error('The peer sent a description that is not {"sdp": ..., "type": "offer"|"answer"}.');
    }
    return { type: parsed.type, sdp: this.#filterSdp(parsed.sdp) };
  }

  // Applies candidateFilter to the a=candidate lines of a description.
  #filterSdp(sdp) {
    const filter = this.#options.candidateFilter;
    if (!filter) {
      return sdp;
    }
    return sdp.split('\r\n')
      .filter((line) => !line.startsWith('a=candidate:') || filter({ candidate: line.slice(2) }))
      .join('\r\n');
  }

  async #sendDescription() {
    if (!this.#options.trickle) {
      await this.#gatheringComplete();
    }
    const local = this.pc.localDescription;
    const description = JSON.stringify({ sdp: this.#filterSdp(local.sdp), type: local.type });
    if (!this.#relay.send(this.peerUuid, local.type, description)) {
      throw new Error(`Not registered with the relay: the ${local.type} was not sent.`);
    }
    this._step(`${local.type} sent`, this.peerUuid);
    this.#descriptionSent = true;
    // Candidates found before the description went out follow it: the relay keeps their order.
    const unsent = this.#unsentCandidates;
    this.#unsentCandidates = [];
    unsent.forEach((description) => this.#sendCandidate(description));
  }

  #sendCandidate(description) {
    if (!this.#descriptionSent) {
      this.#unsentCandidates.push(description);
      return;
    }
    const candidate = JSON.parse(description).candidate;
    if (!this.#relay.send(this.peerUuid, 'candidate', description)) {
      this._step('candidate not sent', 'not registered with the relay');
      return;
    }
    this._step(candidate ? 'local candidate sent' : 'local candidates complete', candidate);
  }

  #gatheringComplete() {
    if (this.pc.iceGatheringState === 'complete') {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pc.removeEventListener('icegatheringstatechange', check);
        resolve();
      };
      const check = () => { if (this.pc.iceGatheringState === 'complete') done(); };
      // Send what has been gathered by then: a slow STUN server must not block the connection.
      const timer = setTimeout(done, this.#options.gatheringTimeoutMs);
      this.pc.addEventListener('icegatheringstatechange', check);
    });
  }

  #onLocalCandidate(candidate) {
    if (!this.#options.trickle || this.#closed) {
      return;
    }
    if (candidate === null) {
      this.#sendCandidate(JSON.stringify({ candidate: '' }));
      return;
    }
    const init = candidate.toJSON();
    if (!init.candidate || (this.#options.candidateFilter && !this.#options.candidateFilter(init))) {
      return;
    }
    this.#sendCandidate(JSON.stringify(init));
  }

  #useChannel(channel) {
    this.channel = channel;
    channel.addEventListener('open', () => {
      this._step('data channel open', channel.label);
      this.dispatchEvent(new Event('open'));
    });
    channel.addEventListener('message', (e) => this.dispatchEvent(new CustomEvent('message', { detail: { data: e.data } })));
    channel.addEventListener('close', () => {
      this._step('data channel closed');
      this.close();
    });
  }
}
