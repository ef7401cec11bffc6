// The /demo self-test page: two browsers connect over WebRTC through this relay and chat.
import { RelayClient, PeerManager, isUuid, randomUuid } from './peerrelay.js';

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const defaultRelay = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;

// State that tests read (window.peerRelayDemo); the page itself only uses the DOM.
const state = {
  registered: false, registrations: 0, relayState: 'idle', disconnects: [], channelOpen: false, received: [], errors: [], steps: [],
};
window.peerRelayDemo = state;

$('relay').value = params.get('relay') ?? defaultRelay;
$('name').value = params.get('name') ?? `browser-${Math.floor(Math.random() * 1000)}`;
$('peer-id').value = params.get('peer') ?? '';

let relay = null;
let peers = null;
let link = null;

function step(text, info = '', kind = '') {
  const li = document.createElement('li');
  const time = document.createElement('span');
  time.className = 'time';
  time.textContent = new Date().toISOString().slice(11, 23);
  li.append(time, text + (info ? `: ${info}` : ''));
  li.dataset.step = text;
  if (kind) li.className = kind;
  $('steps').append(li);
  li.scrollIntoView({ block: 'nearest' });
  state.steps.push(info ? `${text}: ${info}` : text);
}

function fail(text) {
  state.errors.push(text);
  step('error', text, 'error');
}

function setPeerState(text) {
  $('peer-state').textContent = text;
  $('peer-state').dataset.state = text;
}

function chatLine(from, text) {
  const li = document.createElement('li');
  li.dataset.from = from;
  li.textContent = text;
  $('chat').append(li);
}

function loopbackOnly(candidate) {
  // "candidate:<foundation> <component> <protocol> <priority> <address> <port> typ ..."
  return candidate.candidate.split(' ')[4] === '127.0.0.1';
}

function useLink(newLink) {
  link = newLink;
  setPeerState('connecting');
  state.channelOpen = false;
  link.addEventListener('step', (e) => {
    const { step: name, info } = e.detail;
    step(name, info, name === 'data channel open' ? 'ok' : '');
  });
  link.addEventListener('error', (e) => fail(e.detail.error.message ?? String(e.detail.error)));
  link.addEventListener('open', () => {
    state.channelOpen = true;
    setPeerState(`connected to ${link.peerName ?? link.peerUuid}`);
    $('chat-input').disabled = false;
    $('send').disabled = false;
  });
  link.addEventListener('message', (e) => {
    const text = typeof e.detail.data === 'string' ? e.detail.data : `[${e.detail.data.byteLength ?? e.detail.data.size} bytes]`;
    state.received.push(text);
    chatLine('peer', text);
  });
  link.addEventListener('close', () => {
    if (link === newLink) {
      setPeerState('closed');
      state.channelOpen = false;
      $('chat-input').disabled = true;
      $('send').disabled = true;
    }
  });
}

function register() {
  relay?.close();
  const uuid = params.get('uuid') ?? sessionStorage.getItem('peerrelay-demo-uuid') ?? randomUuid();
  try {
    relay = new RelayClient($('relay').value.trim(), {
      name: $('name').value.trim() || 'browser',
      uuid,
      token: params.get('token') ?? undefined,
    });
  } catch (error) {
    fail(error.message);
    return;
  }
  sessionStorage.setItem('peerrelay-demo-uuid', relay.uuid);
  $('my-id').textContent = relay.uuid;
  const share = new URL(location.href);
  share.search = '';
  share.searchParams.set('peer', relay.uuid);
  for (const keep of ['relay', 'stun', 'trickle', 'loopback']) {
    if (params.has(keep)) share.searchParams.set(keep, params.get(keep));
  }
  $('share').href = share.toString();
  $('share').textContent = share.toString();

  const iceServers = params.getAll('stun').map((urls) => ({ urls }));
  peers = new PeerManager(relay, {
    rtcConfiguration: { iceServers },
    trickle: params.get('trickle') !== '0',
    candidateFilter: params.get('loopback') === '1' ? loopbackOnly : null,
  });
  peers.addEventListener('peer', (e) => {
    useLink(e.detail.link);
    $('peer-id').value = e.detail.link.peerUuid;
  });
  relay.addEventListener('state', (e) => {
    state.relayState = e.detail.state;
    $('status').textContent = e.detail.state;
    $('status').dataset.state = e.detail.state;
    $('connect').disabled = e.detail.state !== 'registered';
    // Once a connection is up (or being retried) the button starts over with a new one: say so.
    $('register').textContent = ['idle', 'closed'].includes(e.detail.state) ? 'Connect to relay' : 'Reconnect to relay';
  });
  relay.addEventListener('registered', () => {
    state.registered = true;
    state.registrations += 1;
    step('registered with the relay', `${relay.name} (${relay.uuid})`, 'ok');
  });
  relay.addEventListener('disconnected', (e) => {
    state.registered = false;
    const { code, reason, meaning, final, retryInMs } = e.detail;
    state.disconnects.push({ code, reason, final, retryInMs });
    const what = `relay closed the connection: ${code} ${meaning}${reason ? ` (${reason})` : ''}`;
    if (final) {
      fail(`${what}; not reconnecting`);
    } else {
      step(what, `reconnecting in ${(retryInMs / 1000).toFixed(1)} s`, 'error');
    }
  });
  relay.addEventListener('relayerror', (e) => fail(`relay error: ${e.detail.message.message}`));
  step('connecting to the relay', $('relay').value);
  relay.connect().then(() => {
    const peer = $('peer-id').value.trim();
    if (peer && !link) connectToPeer(peer);
  }, (error) => fail(error.message));
}

function connectToPeer(peer) {
  if (!isUuid(peer)) {
    fail(`not a peer id: ${JSON.stringify(peer)}`);
    return;
  }
  if (peer.toLowerCase() === relay.uuid) {
    fail('that is this browser\'s own id: open the share link in another browser');
    return;
  }
  step('connecting to peer', peer);
  useLink(peers.connect(peer));
}

function sendChat() {
  const text = $('chat-input').value;
  if (!text || !link?.isOpen) return;
  link.send(text);
  chatLine('me', text);
  $('chat-input').value = '';
}

$('register').addEventListener('click', register);
$('connect').addEventListener('click', () => connectToPeer($('peer-id').value.trim()));
$('send').addEventListener('click', sendChat);
$('chat-input').addEventListener('keydown', (e) => { if (e.key === 'Enter') sendChat(); });
if (typeof RTCPeerConnection === 'undefined') {
  fail('this browser has no WebRTC (RTCPeerConnection is missing)');
}
register();
