// The Jupyter Server API as JupyterLab 4 uses it, driven by @jupyterlab/services (the client library JupyterLab
// itself ships): contents, sessions, kernels, kernelspecs, and kernel messaging over both websocket protocols.
//
// Runs against `hops lab` (HOPS_WEB_SERVER=hops, the default) and against jupyter_server
// (HOPS_WEB_SERVER=jupyter), the reference that proves these expectations right. Assertions that only hold for
// hops are marked `hopsOnly`.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  ContentsManager,
  Drive,
  KernelAPI,
  KernelConnection,
  KernelManager,
  KernelSpecAPI,
  KernelSpecManager,
  SessionAPI,
  SessionManager,
} from '@jupyterlab/services';

import {
  assertAvailable,
  KERNEL,
  KIND,
  kernelProcesses,
  serverAvailability,
  skipUnless,
  startServer,
  waitFor,
  within,
} from './harness.mjs';

// @jupyterlab/services logs every websocket it opens with console.debug; keep the test output readable.
console.debug = () => {};

const available = serverAvailability();
const skip = skipUnless(available); // a reason to skip every suite here, or false
const hopsOnly = KIND === 'hops' ? false : 'asserts hops-specific behaviour';

// Kernels start an engine (ipykernel) on 2 shared cores: be generous, never time anything.
const KERNEL_TIMEOUT = 90_000;
const REPLY_TIMEOUT = 60_000;

let server;
let settings;

before(async () => {
  if (skip) return;
  assertAvailable(available);
  server = await startServer('api');
  settings = server.settings();
});

after(async () => {
  if (!server) return;
  const leaked = await server.stop();
  assert.deepEqual(leaked.map((p) => p.argv.join(' ')), [],
    `kernel processes still alive after the server stopped (log: ${server.logPath})`);
});

// ---------------------------------------------------------------------------------------------------------------
// helpers

/** Status of a rejected @jupyterlab/services call (a ServerConnection.ResponseError). */
async function statusOf(promise) {
  try {
    await promise;
  } catch (err) {
    if (err.response) return err.response.status;
    throw err;
  }
  return 200;
}

/**
 * Runs `code` on `kernel` and resolves with {reply, iopub} once the shell reply and the IOPub idle status have
 * both arrived (the future is done). `onStdin(msg, future)` answers input requests.
 */
async function execute(kernel, code, { onStdin, timeout = REPLY_TIMEOUT, onIOPub } = {}) {
  const future = kernel.requestExecute({ code, allow_stdin: Boolean(onStdin), stop_on_error: false });
  const iopub = [];
  future.onIOPub = (msg) => {
    iopub.push(msg);
    onIOPub?.(msg, future);
  };
  if (onStdin) future.onStdin = (msg) => onStdin(msg, future);
  const reply = await within(`the reply and idle status of ${JSON.stringify(code)}`, future.done, timeout);
  return { reply, iopub, future };
}

const streamText = (iopub, name = 'stdout') =>
  iopub.filter((m) => m.header.msg_type === 'stream' && m.content.name === name).map((m) => m.content.text).join('');

const ofType = (iopub, type) => iopub.filter((m) => m.header.msg_type === type);

const bytesOf = (buf) =>
  buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);

/** Opens a kernel connection over `protocol` and waits until the kernel answered kernel_info. */
async function connect(model, protocol, sockets, clientId) {
  const kernel = new KernelConnection({ model, clientId, serverSettings: server.settings({ protocol, sockets }) });
  await within(`kernel_info_reply over the ${protocol} protocol`, kernel.info, KERNEL_TIMEOUT);
  return kernel;
}

// ---------------------------------------------------------------------------------------------------------------

describe('contents', { skip }, () => {
  let contents;
  before(() => {
    contents = new ContentsManager({ serverSettings: settings });
  });
  after(() => contents?.dispose());

  test('lists the root directory, without hidden files', async () => {
    writeFileSync(join(server.workspace, 'seed.txt'), 'seed\n');
    writeFileSync(join(server.workspace, '.secret'), 'hidden\n');
    const root = await contents.get('');
    assert.equal(root.type, 'directory');
    assert.equal(root.path, '');
    assert.equal(root.format, 'json');
    const names = root.content.map((m) => m.name);
    assert.ok(names.includes('seed.txt'), `root listing ${JSON.stringify(names)} lacks seed.txt`);
    assert.ok(!names.some((n) => n.startsWith('.')), `root listing shows hidden files: ${JSON.stringify(names)}`);
    const seed = root.content.find((m) => m.name === 'seed.txt');
    assert.equal(seed.type, 'file');
    assert.equal(seed.content, null, 'children of a listing carry no content');
  });

  test('creates untitled notebooks, files and directories', async () => {
    const nb = await contents.newUntitled({ type: 'notebook' });
    assert.equal(nb.name, 'Untitled.ipynb');
    assert.equal(nb.type, 'notebook');
    const nb1 = await contents.newUntitled({ type: 'notebook' });
    assert.equal(nb1.name, 'Untitled1.ipynb');
    const file = await contents.newUntitled({ type: 'file', ext: '.txt' });
    assert.equal(file.name, 'untitled.txt');
    assert.equal(file.type, 'file');
    const dir = await contents.newUntitled({ type: 'directory' });
    assert.equal(dir.name, 'Untitled Folder');
    assert.equal(dir.type, 'directory');
    const inDir = await contents.newUntitled({ path: dir.path, type: 'notebook' });
    assert.equal(inDir.path, 'Untitled Folder/Untitled.ipynb');
    const notebook = await contents.get(nb.path);
    assert.equal(notebook.content.nbformat, 4);
    assert.deepEqual(notebook.content.cells, []);
  });

  test('saves text, base64 and notebooks and reads them back with their hash', async () => {
    await contents.save('docs', { type: 'directory' });
    const text = 'héllo, hops\nsecond line\n';
    const saved = await contents.save('docs/hello.txt', { type: 'file', format: 'text', content: text });
    assert.equal(saved.path, 'docs/hello.txt');
    const got = await contents.get('docs/hello.txt', { content: true, hash: true });
    assert.equal(got.content, text);
    assert.equal(got.format, 'text');
    assert.equal(got.hash_algorithm, 'sha256');
    assert.equal(got.hash, createHash('sha256').update(text).digest('hex'), 'hash is the sha256 of the bytes on disk');

    const binary = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe, 0x80, 0x01]);
    await contents.save('docs/blob.bin', { type: 'file', format: 'base64', content: binary.toString('base64') });
    const blob = await contents.get('docs/blob.bin', { type: 'file', format: 'base64', content: true, hash: true });
    assert.equal(blob.format, 'base64');
    assert.deepEqual(Buffer.from(blob.content, 'base64'), binary);
    assert.equal(blob.hash, createHash('sha256').update(binary).digest('hex'));
    const sniffed = await contents.get('docs/blob.bin');
    assert.equal(sniffed.format, 'base64', 'a file that is not UTF-8 is returned as base64');

    const notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: KERNEL, display_name: 'Python 3', language: 'python' } },
      cells: [
        { id: 'c1', cell_type: 'markdown', metadata: {}, source: '# Title' },
        {
          id: 'c2', cell_type: 'code', metadata: {}, execution_count: 1, source: 'print(1)',
          outputs: [{ output_type: 'stream', name: 'stdout', text: '1\n' }],
        },
      ],
    };
    const nbSaved = await contents.save('docs/nb.ipynb', { type: 'notebook', format: 'json', content: notebook });
    assert.equal(nbSaved.type, 'notebook');
    const nb = await contents.get('docs/nb.ipynb', { type: 'notebook', content: true, hash: true });
    assert.equal(nb.format, 'json');
    assert.equal(nb.content.cells.length, 2);
    assert.equal(nb.content.cells[1].source, 'print(1)');
    assert.deepEqual(nb.content.cells[1].outputs, notebook.cells[1].outputs);
    assert.match(nb.hash, /^[0-9a-f]{64}$/);
    const nbNoContent = await contents.get('docs/nb.ipynb', { content: false, hash: true });
    assert.equal(nbNoContent.content, null);
    assert.equal(nbNoContent.hash, nb.hash, 'the hash is the same with and without content');
  });

  test('copies, renames and deletes', async () => {
    await contents.save('orig.txt', { type: 'file', format: 'text', content: 'original\n' });
    const copy = await contents.copy('orig.txt', '');
    assert.equal(copy.path, 'orig-Copy1.txt');
    assert.equal((await contents.get('orig-Copy1.txt')).content, 'original\n');

    await contents.save('moved', { type: 'directory' });
    const renamed = await contents.rename('orig-Copy1.txt', 'moved/renamed.txt');
    assert.equal(renamed.path, 'moved/renamed.txt');
    assert.equal(renamed.name, 'renamed.txt');
    assert.equal(await statusOf(contents.get('orig-Copy1.txt')), 404, 'the old path is gone after a rename');
    assert.equal((await contents.get('moved/renamed.txt')).content, 'original\n');

    await contents.delete('moved/renamed.txt');
    assert.equal(await statusOf(contents.get('moved/renamed.txt')), 404, 'a deleted file is 404');
    assert.equal(await statusOf(contents.get('no/such/file.txt')), 404);
  });

  test('uploads a file larger than 1 MB in chunks through Drive.save', async () => {
    // As JupyterLab's file browser does (filebrowser/src/model.ts): 1 MiB base64 chunks numbered 1, 2, ..., -1.
    const drive = new Drive({ serverSettings: settings });
    const data = randomBytes(2.5 * 1024 * 1024);
    const CHUNK = 1024 * 1024;
    const count = Math.ceil(data.length / CHUNK);
    for (let i = 0; i < count; i++) {
      const chunk = i === count - 1 ? -1 : i + 1;
      const model = await drive.save('big.bin', {
        type: 'file', format: 'base64', name: 'big.bin', chunk,
        content: data.subarray(i * CHUNK, (i + 1) * CHUNK).toString('base64'),
      });
      assert.equal(model.path, 'big.bin', `chunk ${chunk}`);
    }
    const got = await drive.get('big.bin', { type: 'file', format: 'base64', content: true, hash: true });
    assert.equal(got.size, data.length, 'the uploaded file has every chunk');
    assert.equal(got.hash, createHash('sha256').update(data).digest('hex'));
    assert.ok(Buffer.from(got.content, 'base64').equals(data), 'the uploaded bytes are the original bytes');

    // The download URL JupyterLab builds serves the same bytes.
    const url = await drive.getDownloadUrl('big.bin');
    const res = await fetch(url, { headers: { Authorization: `token ${server.token}` } });
    assert.equal(res.status, 200, `GET ${url}`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(data), `GET ${url} returns the uploaded bytes`);
    drive.dispose();
  });

  test('creates, lists and restores checkpoints', async () => {
    await contents.save('draft.txt', { type: 'file', format: 'text', content: 'version 1\n' });
    const cp = await contents.createCheckpoint('draft.txt');
    assert.equal(typeof cp.id, 'string');
    assert.ok(!Number.isNaN(Date.parse(cp.last_modified)), `checkpoint last_modified ${cp.last_modified}`);
    const list = await contents.listCheckpoints('draft.txt');
    assert.deepEqual(list.map((c) => c.id), [cp.id]);

    await contents.save('draft.txt', { type: 'file', format: 'text', content: 'version 2\n' });
    assert.equal((await contents.get('draft.txt')).content, 'version 2\n');
    await contents.restoreCheckpoint('draft.txt', cp.id);
    assert.equal((await contents.get('draft.txt')).content, 'version 1\n', 'restore brings back the checkpoint');

    if (KIND === 'hops') {
      // Checkpoints are git versions: every save made one (oldest first), the restore too, and none is deleted.
      const ids = (await contents.listCheckpoints('draft.txt')).map((c) => c.id);
      assert.equal(ids.length, 3, `versions after save, save, restore: ${ids}`);
      assert.equal(ids[0], cp.id);
      await assert.rejects(contents.deleteCheckpoint('draft.txt', cp.id), /kept/);
    } else {
      await contents.deleteCheckpoint('draft.txt', cp.id);
      assert.deepEqual(await contents.listCheckpoints('draft.txt'), []);
    }
  });

  test('lists no checkpoints for a path that does not exist', async () => {
    // JupyterLab can ask for the checkpoints of a notebook's old path while it renames the notebook;
    // jupyter_server answers 200 [], and an error here surfaces as an uncaught error in the page.
    const res = await server.api('api/contents/gone-away.ipynb/checkpoints');
    const body = await res.text();
    assert.equal(res.status, 200, `GET /api/contents/gone-away.ipynb/checkpoints → ${res.status} ${body}`);
    assert.deepEqual(JSON.parse(body), []);
    assert.deepEqual(await contents.listCheckpoints('gone-away.ipynb'), []);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('kernelspecs', { skip }, () => {
  test('lists the default kernelspec', async () => {
    const specs = await KernelSpecAPI.getSpecs(settings);
    assert.equal(specs.default, KERNEL);
    const spec = specs.kernelspecs[KERNEL];
    assert.ok(spec, `kernelspecs ${JSON.stringify(Object.keys(specs.kernelspecs))} lack ${KERNEL}`);
    assert.equal(spec.language, 'python');
    assert.ok(Array.isArray(spec.argv), 'argv is an array');
    if (KIND === 'hops') assert.equal(spec.display_name, 'Python 3 (hops)');

    const manager = new KernelSpecManager({ serverSettings: settings });
    await within('KernelSpecManager.ready', manager.ready);
    assert.equal(manager.specs.default, KERNEL);
    manager.dispose();
  });

  test('offers the other installed kernelspecs too', { skip: hopsOnly }, async () => {
    const specs = await KernelSpecAPI.getSpecs(settings);
    assert.ok(specs.kernelspecs.python3, `the venv's python3 kernelspec is offered: ${Object.keys(specs.kernelspecs)}`);
  });

  test('serves every logo in the kernelspec resources', async () => {
    const specs = await KernelSpecAPI.getSpecs(settings);
    let logos = 0;
    for (const [name, spec] of Object.entries(specs.kernelspecs)) {
      for (const [key, url] of Object.entries(spec.resources)) {
        if (!key.startsWith('logo-')) continue;
        logos++;
        const res = await server.api(new URL(url, server.baseUrl).pathname);
        assert.equal(res.status, 200, `GET ${url} (resource ${key} of kernelspec ${name})`);
        assert.match(res.headers.get('content-type') ?? '', /^image\//, `content type of ${url}`);
        assert.ok((await res.arrayBuffer()).byteLength > 0, `${url} is not empty`);
      }
    }
    assert.ok(specs.kernelspecs[KERNEL].resources['logo-64x64'] || specs.kernelspecs[KERNEL].resources['logo-svg'],
      `kernelspec ${KERNEL} has a logo: ${JSON.stringify(specs.kernelspecs[KERNEL].resources)}`);
    assert.ok(logos > 0);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('kernels (REST)', { skip }, () => {
  let kernels;
  before(() => {
    kernels = new KernelManager({ serverSettings: settings });
  });
  after(() => kernels?.dispose());

  test('start, list, track execution_state and last_activity, interrupt, restart, shut down', async () => {
    const model = await KernelAPI.startNew({ name: KERNEL }, settings);
    assert.equal(model.name, KERNEL);
    assert.ok((await KernelAPI.listRunning(settings)).some((k) => k.id === model.id), 'GET /api/kernels lists it');
    // jupyter_server reports "starting" until the kernel's first status message after start, which the
    // kernel_info_request of the first connection provokes.
    const kernel = kernels.connectTo({ model });
    await within('kernel_info_reply', kernel.info, KERNEL_TIMEOUT);
    await waitFor(`kernel ${model.id} execution_state "idle" in GET /api/kernels/{id}`,
      async () => (await KernelAPI.getKernelModel(model.id, settings))?.execution_state === 'idle',
      { timeout: KERNEL_TIMEOUT });
    const before = await KernelAPI.getKernelModel(model.id, settings);
    assert.ok(!Number.isNaN(Date.parse(before.last_activity)), `last_activity ${before.last_activity}`);

    // Busy while a cell waits on input() — a state we can hold as long as we like.
    let prompt;
    const future = kernel.requestExecute({ code: 'answer = input("go? ")', allow_stdin: true });
    future.onStdin = (msg) => {
      prompt = msg;
    };
    await waitFor('an input_request', () => prompt, { timeout: REPLY_TIMEOUT });
    await waitFor(`execution_state "busy" in GET /api/kernels/${model.id} while a cell runs`,
      async () => (await KernelAPI.getKernelModel(model.id, settings)).execution_state === 'busy');
    future.sendInputReply({ status: 'ok', value: 'yes' }, prompt.header);
    await within('the input cell to finish', future.done, REPLY_TIMEOUT);
    const idle = await waitFor(`execution_state "idle" in GET /api/kernels/${model.id} after the cell`,
      async () => {
        const m = await KernelAPI.getKernelModel(model.id, settings);
        return m.execution_state === 'idle' && m;
      });
    assert.ok(Date.parse(idle.last_activity) > Date.parse(before.last_activity),
      `last_activity moves on with activity (${before.last_activity} then ${idle.last_activity})`);

    await KernelAPI.interruptKernel(model.id, settings); // 204 on an idle kernel too
    const restarted = await KernelAPI.restartKernel(model.id, settings);
    assert.equal(restarted?.id ?? model.id, model.id, 'a restart keeps the kernel id');
    await waitFor('idle after the restart', async () =>
      (await KernelAPI.getKernelModel(model.id, settings)).execution_state === 'idle', { timeout: KERNEL_TIMEOUT });

    kernel.dispose();
    await KernelAPI.shutdownKernel(model.id, settings);
    assert.equal(await KernelAPI.getKernelModel(model.id, settings), undefined, 'GET /api/kernels/{id} is 404');
    assert.ok(!(await KernelAPI.listRunning(settings)).some((k) => k.id === model.id), 'no longer listed');
    await waitFor(`the processes of kernel ${model.id} to exit after shutdown`,
      () => kernelProcesses(model.id).length === 0, { timeout: 30_000 });
  });

  test('refuses an unknown kernel name and an unknown kernel id', async () => {
    assert.notEqual(await statusOf(KernelAPI.startNew({ name: 'no-such-kernel' }, settings)), 200);
    assert.equal(await KernelAPI.getKernelModel('00000000-0000-0000-0000-000000000000', settings), undefined);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('sessions', { skip }, () => {
  let kernels;
  let sessions;
  let contents;
  before(() => {
    kernels = new KernelManager({ serverSettings: settings });
    sessions = new SessionManager({ kernelManager: kernels, serverSettings: settings });
    contents = new ContentsManager({ serverSettings: settings });
  });
  after(() => {
    sessions?.dispose();
    kernels?.dispose();
    contents?.dispose();
  });

  test('start for a path, list, rename, change kernel, shut down', async () => {
    await contents.save('work', { type: 'directory' });
    const nb = await contents.newUntitled({ path: 'work', type: 'notebook' });
    const options = { path: nb.path, type: 'notebook', name: nb.name, kernel: { name: KERNEL } };

    const session = await sessions.startNew(options);
    assert.equal(session.path, nb.path);
    assert.equal(session.type, 'notebook');
    assert.equal(session.kernel.name, KERNEL);
    const firstKernel = session.kernel.id;
    assert.ok((await KernelAPI.listRunning(settings)).some((k) => k.id === firstKernel), 'its kernel is listed');

    const again = await SessionAPI.startSession(options, settings);
    assert.equal(again.id, session.id, 'POST /api/sessions for a path with a session returns that session');

    const listed = await SessionAPI.listRunning(settings);
    assert.deepEqual(listed.filter((s) => s.id === session.id).map((s) => s.path), [nb.path]);

    await session.setPath('work/renamed.ipynb');
    assert.equal((await SessionAPI.getSessionModel(session.id, settings)).path, 'work/renamed.ipynb');

    await within('the kernel of the session to be ready', session.kernel.info, KERNEL_TIMEOUT);
    await session.changeKernel({ name: KERNEL });
    const secondKernel = session.kernel.id;
    assert.notEqual(secondKernel, firstKernel, 'changing the kernel starts a new one');
    assert.equal((await SessionAPI.getSessionModel(session.id, settings)).kernel.id, secondKernel);
    await waitFor(`the replaced kernel ${firstKernel} to be shut down`,
      async () => !(await KernelAPI.listRunning(settings)).some((k) => k.id === firstKernel));
    const { reply, iopub } = await within('the new kernel to be ready',
      session.kernel.info.then(() => execute(session.kernel, '6*7')), KERNEL_TIMEOUT);
    assert.equal(reply.content.status, 'ok');
    assert.equal(ofType(iopub, 'execute_result')[0]?.content.data['text/plain'], '42');

    await session.shutdown();
    assert.ok(!(await SessionAPI.listRunning(settings)).some((s) => s.id === session.id), 'session gone');
    assert.ok(!(await KernelAPI.listRunning(settings)).some((k) => k.id === secondKernel), 'its kernel gone');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Kernel messaging, once per websocket protocol.

const PROTOCOLS = [
  { protocol: 'v1', subprotocol: 'v1.kernel.websocket.jupyter.org' },
  { protocol: 'legacy', subprotocol: '' },
];

for (const { protocol, subprotocol } of PROTOCOLS) {
  describe(`kernel messaging over the ${protocol} websocket protocol`, { skip }, () => {
    const sockets = [];
    let model;
    let kernel;
    before(async () => {
      model = await KernelAPI.startNew({ name: KERNEL }, settings);
      kernel = await connect(model, protocol, sockets);
    });
    after(async () => {
      kernel?.dispose();
      if (model) await KernelAPI.shutdownKernel(model.id, settings).catch(() => {});
    });

    test(`negotiates ${protocol === 'v1' ? subprotocol : 'no subprotocol'}`, () => {
      assert.ok(sockets.length > 0, 'a websocket was opened');
      assert.equal(sockets[0].protocol, subprotocol);
    });

    test('1+1 gives execute_result 2, then idle', async () => {
      const { reply, iopub, future } = await execute(kernel, '1+1');
      assert.equal(reply.content.status, 'ok');
      const results = ofType(iopub, 'execute_result');
      assert.equal(results.length, 1);
      assert.equal(results[0].content.data['text/plain'], '2');
      assert.equal(results[0].content.execution_count, reply.content.execution_count);
      const statuses = ofType(iopub, 'status').map((m) => m.content.execution_state);
      assert.deepEqual(statuses, ['busy', 'idle'], 'busy and idle around the request');
      assert.equal(ofType(iopub, 'execute_input')[0]?.content.code, '1+1');
      assert.ok(iopub.every((m) => m.parent_header.msg_id === future.msg.header.msg_id));
      assert.equal(kernel.status, 'idle');
    });

    test('streams stdout and stderr', async () => {
      const { reply, iopub } = await execute(kernel, "import sys\nprint('out 1')\nprint('err 1', file=sys.stderr)\nprint('out 2')");
      assert.equal(reply.content.status, 'ok');
      assert.equal(streamText(iopub, 'stdout'), 'out 1\nout 2\n');
      assert.equal(streamText(iopub, 'stderr'), 'err 1\n');
    });

    test('reports errors with ename, evalue and traceback', async () => {
      const { reply, iopub } = await execute(kernel, '1/0');
      assert.equal(reply.content.status, 'error');
      assert.equal(reply.content.ename, 'ZeroDivisionError');
      const [err] = ofType(iopub, 'error');
      assert.equal(err?.content.ename, 'ZeroDivisionError');
      assert.ok(Array.isArray(err.content.traceback));
    });

    test('carries binary buffers: an ipywidgets Image (comm_open + display_data)', async () => {
      const opened = [];
      kernel.registerCommTarget('jupyter.widget', (comm, msg) => {
        opened.push(msg);
      });
      const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(Array.from({ length: 256 }, (_, i) => i))]);
      const code = `import ipywidgets as widgets\nimg = widgets.Image(value=bytes.fromhex('${png.toString('hex')}'), format='png')\ndisplay(img)`;
      const { reply, iopub } = await execute(kernel, code);
      assert.equal(reply.content.status, 'ok', JSON.stringify(reply.content));
      const image = opened.find((m) => m.content.data?.state?._model_name === 'ImageModel');
      assert.ok(image, `comm_open of an ImageModel among ${opened.map((m) => m.content.data?.state?._model_name)}`);
      assert.deepEqual(image.content.data.buffer_paths, [['value']]);
      assert.equal(image.buffers?.length, 1, 'the image bytes travel as one binary buffer');
      assert.deepEqual(Buffer.from(bytesOf(image.buffers[0])), png);
      const [display] = ofType(iopub, 'display_data');
      assert.equal(display?.content.data['application/vnd.jupyter.widget-view+json']?.model_id, image.content.comm_id);
    });

    test('carries binary buffers both ways on a comm, and answers comm_info_request', async () => {
      const setup = [
        'from comm import get_comm_manager',
        'def _hops_echo(comm, open_msg):',
        '    @comm.on_msg',
        '    def _recv(msg):',
        "        bufs = [bytes(b) for b in msg['buffers']]",
        "        comm.send({'sizes': [len(b) for b in bufs], 'got': msg['content']['data']}, buffers=[b[::-1] for b in bufs])",
        "get_comm_manager().register_target('hops_echo', _hops_echo)",
      ].join('\n');
      assert.equal((await execute(kernel, setup)).reply.content.status, 'ok');

      const comm = kernel.createComm('hops_echo');
      const replies = [];
      comm.onMsg = (msg) => {
        replies.push(msg);
      };
      await within('comm_open to be sent', comm.open({}).done, REPLY_TIMEOUT);
      const sent = new Uint8Array([1, 2, 3, 0, 255, 128]);
      comm.send({ hello: 'hops' }, undefined, [sent.buffer]);
      const echo = await waitFor('the echo comm_msg with a reversed buffer', () => replies[0], { timeout: REPLY_TIMEOUT });
      assert.deepEqual(echo.content.data, { sizes: [6], got: { hello: 'hops' } });
      assert.deepEqual(Array.from(bytesOf(echo.buffers[0])), Array.from(sent).reverse());

      const info = await within('comm_info_reply', kernel.requestCommInfo({ target_name: 'hops_echo' }), REPLY_TIMEOUT);
      assert.equal(info.content.status, 'ok');
      assert.equal(info.content.comms[comm.commId]?.target_name, 'hops_echo', JSON.stringify(info.content.comms));
      comm.close();
    });

    test('round-trips input_request and input_reply', async () => {
      const prompts = [];
      const { reply, iopub } = await execute(kernel, "name = input('name? ')\nprint('hi', name)", {
        onStdin: (msg, future) => {
          prompts.push(msg.content.prompt);
          future.sendInputReply({ status: 'ok', value: 'hops' }, msg.header);
        },
      });
      assert.deepEqual(prompts, ['name? ']);
      assert.equal(reply.content.status, 'ok');
      assert.equal(streamText(iopub), 'hi hops\n');
    });

    test('interrupts time.sleep(30) with KeyboardInterrupt', async () => {
      const future = kernel.requestExecute({ code: 'import time\ntime.sleep(30)' });
      const iopub = [];
      future.onIOPub = (msg) => iopub.push(msg);
      await waitFor('execute_input of the sleeping cell', () => ofType(iopub, 'execute_input').length > 0,
        { timeout: REPLY_TIMEOUT });
      await kernel.interrupt();
      const reply = await within('the reply of the interrupted cell', future.done, REPLY_TIMEOUT);
      assert.equal(reply.content.status, 'error');
      assert.equal(reply.content.ename, 'KeyboardInterrupt');
      assert.equal(ofType(iopub, 'error')[0]?.content.ename, 'KeyboardInterrupt');
      const { reply: after } = await execute(kernel, '1+1');
      assert.equal(after.content.status, 'ok', 'the kernel runs cells after an interrupt');
    });

    test('restart gives a fresh kernel', async () => {
      assert.equal((await execute(kernel, 'forgotten = 42')).reply.content.status, 'ok');
      await within('the restart', kernel.restart(), KERNEL_TIMEOUT);
      await within('kernel_info after the restart', kernel.info, KERNEL_TIMEOUT);
      assert.equal(kernel.id, model.id, 'a restart keeps the kernel id');
      const { reply, iopub } = await execute(kernel, "'forgotten' in globals()");
      assert.equal(reply.content.status, 'ok');
      assert.equal(ofType(iopub, 'execute_result')[0]?.content.data['text/plain'], 'False', 'variables are gone');
    });

    test('a client that reconnects with the same client id receives the output produced while it was away',
      async () => {
        const code = "import time\nfor i in range(8):\n    print(f'line {i}', flush=True)\n    time.sleep(0.5)";
        const future = kernel.requestExecute({ code });
        const requestId = future.msg.header.msg_id;
        let before = '';
        future.onIOPub = (msg) => {
          if (msg.header.msg_type === 'stream') before += msg.content.text;
        };
        await waitFor('the first line before disconnecting', () => before.includes('line 0'), { timeout: REPLY_TIMEOUT });
        const { clientId } = kernel;
        kernel.dispose(); // closes the websocket; the cell goes on printing
        await waitFor(`the cell to finish while no client is attached (execution_state idle in GET /api/kernels/${model.id})`,
          async () => (await KernelAPI.getKernelModel(model.id, settings)).execution_state === 'idle',
          { timeout: REPLY_TIMEOUT });

        let afterText = '';
        let idle = false;
        const reconnected = new KernelConnection({ model, clientId, serverSettings: server.settings({ protocol, sockets }) });
        reconnected.anyMessage.connect((_, { msg, direction }) => {
          if (direction !== 'recv' || msg.parent_header?.msg_id !== requestId) return;
          if (msg.header.msg_type === 'stream') afterText += msg.content.text;
          if (msg.header.msg_type === 'status' && msg.content.execution_state === 'idle') idle = true;
        });
        kernel = reconnected; // used by the following tests and disposed in after()
        await waitFor('the buffered output and idle status of the cell after reconnecting', () => idle,
          { timeout: REPLY_TIMEOUT });
        const expected = Array.from({ length: 8 }, (_, i) => `line ${i}\n`).join('');
        assert.equal(before + afterText, expected,
          `output before the disconnect (${JSON.stringify(before)}) and replayed after it (${JSON.stringify(afterText)})`);
        await within('kernel_info after reconnecting', reconnected.info, KERNEL_TIMEOUT);
        assert.equal((await execute(reconnected, '1+1')).reply.content.status, 'ok');
      });

    test('%hops version shows the hops version', { skip: hopsOnly }, async () => {
      const { reply, iopub } = await execute(kernel, '%hops version');
      assert.equal(reply.content.status, 'ok');
      const text = ofType(iopub, 'display_data').map((m) => m.content.data['text/plain']).join('\n');
      assert.match(text, /^hops \S+/m);
      assert.match(text, /Jupyter protocol/);
    });

    test(`kept to the ${protocol} framing on every frame`, () => {
      for (const s of sockets) {
        assert.equal(s.protocol, subprotocol, `socket ${s.url}`);
        if (protocol === 'v1') {
          const text = s.frames.filter((f) => !f.binary).length;
          assert.equal(text, 0, `a v1 connection received ${text} text frames (every frame must be binary)`);
        } else {
          assert.ok(s.frames.some((f) => !f.binary), 'the legacy protocol sends JSON text frames');
        }
      }
    });
  });
}
