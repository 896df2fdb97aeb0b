// The Project store panel (left side bar): a file browser of the project store (a local directory or HDFS):
// breadcrumbs, the entries of a folder (folders first), uploads with progress (file picker or drag and drop),
// downloads, new folders, renames and moves, deletes, and the notebook snippet that opens an entry.

import { Clipboard, Dialog, Notification, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import {
  closeIcon,
  copyIcon,
  deleteIcon,
  downloadIcon,
  editIcon,
  fileIcon,
  fileUploadIcon,
  folderIcon,
  LabIcon,
  newFolderIcon,
  refreshIcon
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { errorMessage, errorText, h, iconButton, message } from './dom';
import { storeIcon } from './icons';
import { APIError, CancelledError, IStoreListing, IUpload, StoreAPI } from './storeapi';
import {
  baseName,
  changeable,
  contains,
  exactSize,
  formatSize,
  IStoreEntry,
  joinPath,
  LAYOUT_HINTS,
  nameError,
  notebookSnippet,
  parentPath,
  progressText,
  readOnlyReason,
  resolvePath,
  segments,
  SortKey,
  sortEntries,
  storeKind,
  uniqueName,
  writableFolder
} from './storepath';
import { exactTime, relativeTime } from './time';

/** How often a shown panel lists its folder again (the store changes under it: notebooks, trials). */
const POLL_MS = 10_000;
/** How long a finished upload stays in the list. */
const DONE_MS = 4_000;

export interface IStorePanelOptions {
  api: StoreAPI;
  /** The icon of a file, from its name (JupyterLab's file types). */
  iconFor?: (name: string) => LabIcon;
}

type State =
  | { kind: 'loading' }
  | { kind: 'error'; status: number; message: string }
  | { kind: 'list'; listing: IStoreListing };

type UploadState = 'queued' | 'uploading' | 'done' | 'failed' | 'cancelled';

interface IUploadItem {
  file: File;
  path: string;
  loaded: number;
  state: UploadState;
  error?: string;
  handle?: IUpload;
  el: HTMLElement;
}

export class StorePanel extends Widget {
  constructor(private readonly _opts: IStorePanelOptions) {
    super();
    this.id = 'hops-store';
    this.addClass('hops-StorePanel');
    this.title.icon = storeIcon;
    this.title.caption = 'Project store';

    this._fileInput.addEventListener('change', () => {
      const files = Array.from(this._fileInput.files ?? []);
      this._fileInput.value = '';
      if (files.length) {
        void this.upload(files);
      }
    });

    this.node.append(
      h(
        'header',
        { class: 'hops-StorePanel-header' },
        h('h2', { class: 'hops-StorePanel-title', text: 'Project store' }),
        this._buttons.refresh
      ),
      this._where,
      h(
        'div',
        { class: 'hops-StorePanel-toolbar', attrs: { role: 'toolbar', 'aria-label': 'Project store' } },
        this._buttons.newFolder,
        this._buttons.upload,
        h('span', { class: 'hops-StorePanel-sep' }),
        this._buttons.download,
        this._buttons.copy,
        this._buttons.rename,
        this._buttons.delete
      ),
      this._crumbs,
      this._note,
      this._columns,
      this._body,
      this._uploads,
      this._drop,
      this._fileInput
    );
    this._body.addEventListener('keydown', ev => this._onKey(ev));
    this._body.addEventListener('click', ev => {
      if (ev.target === this._body) {
        this._select(null);
      }
    });
    for (const type of ['dragenter', 'dragover', 'dragleave', 'drop'] as const) {
      this.node.addEventListener(type, this._onDrag);
    }
    this._render();
  }

  /** The folder shown ("" for the store's root). */
  get path(): string {
    return this._path;
  }

  /** The listing shown, if any. */
  get listing(): IStoreListing | null {
    return this._state.kind === 'list' ? this._state.listing : null;
  }

  /** The selected entry of the folder shown, if any. */
  get selected(): IStoreEntry | null {
    const name = this._selected;
    return name === null ? null : (this.listing?.entries.find(e => e.name === name) ?? null);
  }

  /** The store path of an entry of the folder shown. */
  pathOf(entry: IStoreEntry): string {
    return joinPath(this._path, entry.name);
  }

  /** Whether the folder shown takes uploads and new folders. */
  get writable(): boolean {
    return this._state.kind === 'list' && writableFolder(this._path);
  }

  /** Whether an entry of the folder shown can be renamed and deleted. */
  canChange(entry: IStoreEntry | null): boolean {
    return entry !== null && changeable(this.pathOf(entry));
  }

  /** Shows folder path. */
  async cd(path: string): Promise<void> {
    const p = segments(path).join('/');
    if (p !== this._path) {
      this._path = p;
      this._selected = null;
      this._state = { kind: 'loading' };
    }
    await this.refresh();
  }

  /** Lists the folder shown again (only while the panel is shown; otherwise on its next showing). */
  async refresh(): Promise<void> {
    if (!this.isVisible) {
      this._render();
      return;
    }
    const request = ++this._request;
    const path = this._path;
    this.node.classList.add('hops-mod-loading');
    if (this._state.kind === 'loading') {
      this._render();
    }
    let next: State;
    try {
      next = { kind: 'list', listing: await this._opts.api.list(path) };
    } catch (err) {
      next = {
        kind: 'error',
        status: err instanceof APIError ? err.status : 0,
        message: errorText(err)
      };
    }
    if (request !== this._request) {
      return;
    }
    this.node.classList.remove('hops-mod-loading');
    // A poll that finds nothing new leaves the list as it is (focus, scroll and hover included).
    const same = JSON.stringify(next) === JSON.stringify(this._state);
    this._state = next;
    if (next.kind === 'list' && this._selected !== null && !next.listing.entries.some(e => e.name === this._selected)) {
      this._selected = null;
    }
    if (same) {
      this._renderToolbar();
    } else {
      this._render();
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    // The store changes while the panel is hidden (notebooks, trials): list again; an unchanged listing leaves the
    // list as it is.
    this._updateTimes();
    void this.refresh();
    window.clearInterval(this._clock);
    this._clock = window.setInterval(() => {
      if (document.visibilityState === 'visible' && !this.node.classList.contains('hops-mod-loading')) {
        void this.refresh();
      }
      this._updateTimes();
    }, POLL_MS);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    window.clearInterval(this._clock);
  }

  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    (this._body.querySelector<HTMLElement>('.hops-StoreEntry[tabindex="0"]') ?? this._body).focus();
  }

  dispose(): void {
    window.clearInterval(this._clock);
    for (const u of this._queue) {
      u.handle?.cancel();
    }
    window.removeEventListener('beforeunload', this._onBeforeUnload);
    super.dispose();
  }

  // -------------------------------------------------------------------------------------------------------------
  // actions (also the commands of the context menu)

  /** Opens a folder, or downloads a file. */
  open(entry: IStoreEntry): void {
    if (entry.dir) {
      void this.cd(this.pathOf(entry));
    } else {
      void this.download(entry);
    }
  }

  /** Downloads a file: the browser streams it to disk through a link the page's cookie authenticates. */
  async download(entry: IStoreEntry): Promise<void> {
    const path = this.pathOf(entry);
    try {
      // A short check first, so that a vanished file or a store that is down says so here, not as a broken download.
      const kind = await this._opts.api.kind(path);
      if (kind === null) {
        throw new APIError(404, `${path} is not there any more`);
      }
      if (kind === 'directory') {
        throw new APIError(400, `${path} is a folder: open it and download its files`);
      }
    } catch (err) {
      Notification.error(`Cannot download ${entry.name}: ${errorText(err)}`, { autoClose: 8000 });
      void this.refresh();
      return;
    }
    const a = h('a', { attrs: { href: this._opts.api.downloadUrl(path), download: entry.name, rel: 'noopener' } });
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
  }

  /** Copies what a notebook writes to use the entry: hops.fs.open("Resources/x.csv"). */
  copySnippet(entry: IStoreEntry): void {
    const snippet = notebookSnippet(this.pathOf(entry), entry.dir);
    Clipboard.copyToSystem(snippet);
    Notification.success(`Copied ${snippet}`, { autoClose: 3000 });
  }

  /** Copies the entry's path in the store. */
  copyPath(entry: IStoreEntry): void {
    const path = this.pathOf(entry);
    Clipboard.copyToSystem(path);
    Notification.success(`Copied ${path}`, { autoClose: 3000 });
  }

  /** Opens the file picker to upload into the folder shown. */
  pickFiles(): void {
    const reason = this._readOnly();
    if (reason) {
      Notification.warning(reason, { autoClose: 6000 });
      return;
    }
    this._fileInput.click();
  }

  /** Uploads files into dir (the folder shown by default), one after the other, each with its progress. */
  async upload(files: File[], dir: string = this._path): Promise<void> {
    if (!writableFolder(dir)) {
      Notification.warning(readOnlyReason(dir) ?? `Cannot upload into ${dir}/`, { autoClose: 6000 });
      return;
    }
    const bad = files.filter(f => nameError(f.name) !== null);
    if (bad.length) {
      Notification.error(`Cannot upload ${bad.map(f => JSON.stringify(f.name)).join(', ')}: not a valid name.`);
    }
    let wanted = files.filter(f => nameError(f.name) === null);
    if (wanted.length === 0) {
      return;
    }
    let existing: IStoreEntry[];
    try {
      existing = await this._entriesOf(dir, true);
    } catch (err) {
      Notification.error(`Cannot upload into ${dir}/: ${errorText(err)}`, { autoClose: 8000 });
      return;
    }
    const folders = new Set(existing.filter(e => e.dir).map(e => e.name));
    const blocked = wanted.filter(f => folders.has(f.name));
    if (blocked.length) {
      Notification.error(
        `Cannot upload ${blocked.map(f => f.name).join(', ')}: a folder of that name is in ${dir}/.`,
        { autoClose: 8000 }
      );
      wanted = wanted.filter(f => !folders.has(f.name));
    }
    const fileNames = new Set(existing.filter(e => !e.dir).map(e => e.name));
    const clashes = wanted.filter(f => fileNames.has(f.name));
    if (clashes.length) {
      const names = clashes.map(f => f.name);
      const one = clashes.length === 1;
      const result = await showDialog({
        title: one ? 'Replace the file?' : `Replace ${clashes.length} files?`,
        body: new Widget({
          node: h(
            'div',
            { class: 'hops-StoreDialog' },
            h('p', { text: `${dir}/ already has ${one ? 'a file of this name' : 'files of these names'}:` }),
            h('ul', {}, ...names.slice(0, 8).map(n => h('li', { text: n }))),
            names.length > 8 ? h('p', { class: 'hops-Muted', text: `and ${names.length - 8} more` }) : null,
            h('p', {
              class: 'hops-Muted',
              text: `Replacing overwrites ${one ? 'it once the upload is' : 'each once its upload is'} complete.`
            })
          )
        }),
        buttons: [
          Dialog.cancelButton(),
          ...(clashes.length < wanted.length ? [Dialog.okButton({ label: 'Skip them', displayType: 'default' })] : []),
          Dialog.warnButton({ label: 'Replace', ariaLabel: 'Replace' })
        ]
      });
      if (!result.button.accept) {
        return;
      }
      if (result.button.label === 'Skip them') {
        wanted = wanted.filter(f => !fileNames.has(f.name));
      }
    }
    for (const file of wanted) {
      this._enqueue(file, joinPath(dir, file.name));
    }
    void this._pump();
  }

  /** Asks for a name and creates a folder in the folder shown. */
  async newFolder(): Promise<void> {
    const reason = this._readOnly();
    if (reason) {
      Notification.warning(reason, { autoClose: 6000 });
      return;
    }
    const dir = this._path;
    const taken = new Set((this.listing?.entries ?? []).map(e => e.name));
    const name = await askName({
      title: 'New folder',
      label: `A folder in ${dir}/`,
      value: uniqueName('New Folder', taken),
      ok: 'Create',
      validate: v => nameError(v.trim()) ?? (taken.has(v.trim()) ? `${v.trim()} is already in ${dir}/.` : null)
    });
    if (name === null) {
      return;
    }
    const path = joinPath(dir, name.trim());
    try {
      await this._opts.api.mkdir(path);
    } catch (err) {
      await showErrorMessage('Cannot create the folder', errorText(err));
      return;
    }
    if (this._path === dir) {
      this._selected = baseName(path);
    }
    await this.refresh();
  }

  /** Renames an entry of the folder shown; a path moves it ("raw/x.csv", "../x.csv", "/Resources/x.csv"). */
  async rename(entry: IStoreEntry): Promise<void> {
    const from = this.pathOf(entry);
    if (!changeable(from)) {
      Notification.warning(readOnlyReason(parentPath(from)) ?? `${from} is part of the project layout.`, { autoClose: 6000 });
      return;
    }
    const dir = this._path;
    const dot = entry.name.lastIndexOf('.');
    const input = await askName({
      title: `Rename ${entry.dir ? 'folder' : 'file'}`,
      label: 'New name, or a path to move it to (raw/x.csv, ../x.csv, /Resources/x.csv)',
      value: entry.name,
      select: !entry.dir && dot > 0 ? dot : entry.name.length,
      ok: 'Rename',
      validate: v => {
        const r = resolvePath(dir, v);
        return 'error' in r ? r.error : null;
      }
    });
    if (input === null) {
      return;
    }
    const resolved = resolvePath(dir, input);
    if ('error' in resolved) {
      return;
    }
    try {
      let to = resolved.path;
      let there = await this._entryAt(to);
      // As mv does: a folder that is there takes the entry in.
      if (there?.dir && to !== from) {
        to = joinPath(to, entry.name);
        there = await this._entryAt(to);
      }
      if (to === from) {
        return;
      }
      if (entry.dir && contains(from, to)) {
        throw new Error(`a folder cannot move into itself (${to})`);
      }
      if (!writableFolder(parentPath(to))) {
        throw new Error(readOnlyReason(parentPath(to)) ?? `cannot write into ${parentPath(to)}/`);
      }
      if (there) {
        if (there.dir || entry.dir) {
          throw new Error(`${to} is already there`);
        }
        const ok = await showDialog({
          title: 'Replace the file?',
          body: `${to} is already there. Replace it with ${from}?`,
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Replace' })]
        });
        if (!ok.button.accept) {
          return;
        }
      } else if (parentPath(to) !== '' && (await this._entryAt(parentPath(to))) === null) {
        await this._opts.api.mkdir(parentPath(to));
      }
      await this._opts.api.rename(from, to);
      if (parentPath(to) === this._path) {
        this._selected = baseName(to);
      }
      // A move takes the entry out of view: say where it went.
      if (parentPath(to) !== parentPath(from)) {
        Notification.success(`Moved ${entry.name} to ${parentPath(to) || "the store's root"}/`, { autoClose: 4000 });
      }
    } catch (err) {
      await showErrorMessage(`Cannot rename ${entry.name}`, errorText(err));
    }
    await this.refresh();
  }

  /** Deletes an entry of the folder shown, once confirmed (a folder with everything in it). */
  async remove(entry: IStoreEntry): Promise<void> {
    const path = this.pathOf(entry);
    if (!changeable(path)) {
      Notification.warning(readOnlyReason(parentPath(path)) ?? `${path} is part of the project layout.`, { autoClose: 6000 });
      return;
    }
    const where = this._state.kind === 'list' ? this._state.listing.store : '';
    const result = await showDialog({
      title: entry.dir ? 'Delete the folder?' : 'Delete the file?',
      body: new Widget({
        node: h(
          'div',
          { class: 'hops-StoreDialog' },
          h('p', {}, 'Delete ', h('code', { text: path }), entry.dir ? ' and everything in it?' : ` (${formatSize(entry.size)})?`),
          h('p', {
            class: 'hops-Muted',
            text: `This cannot be undone${/^hdfs:/i.test(where) ? ' (the store deletes at once, without a trash)' : ''}.`
          })
        )
      }),
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
    });
    if (!result.button.accept) {
      return;
    }
    try {
      await this._opts.api.remove(path);
    } catch (err) {
      await showErrorMessage(`Cannot delete ${entry.name}`, errorText(err));
    }
    await this.refresh();
  }

  // -------------------------------------------------------------------------------------------------------------
  // rendering

  private _render(): void {
    const state = this._state;
    this._renderWhere();
    this._renderCrumbs();
    const reason = state.kind === 'error' ? null : this._readOnly();
    this._note.hidden = reason === null;
    this._note.textContent = reason ?? '';
    this._columns.hidden = state.kind !== 'list' || state.listing.entries.length === 0;
    this._renderColumns();

    const hadFocus = this._body.contains(document.activeElement);
    this._body.replaceChildren();
    switch (state.kind) {
      case 'loading':
        this._body.append(h('div', { class: 'hops-StoreLoading hops-Muted', text: 'Loading…' }));
        break;
      case 'error':
        this._body.append(this._error(state.status, state.message));
        break;
      case 'list':
        this._body.append(state.listing.entries.length ? this._list(state.listing) : this._empty());
        break;
    }
    this._renderSelection(hadFocus);
  }

  private _renderWhere(): void {
    const store = this.listing?.store ?? this._lastStore;
    this._where.replaceChildren();
    if (!store) {
      return;
    }
    this._lastStore = store;
    this._where.append(
      h('span', { class: 'hops-StorePanel-kind', text: storeKind(store) }),
      h('span', { class: 'hops-StorePanel-location', text: store, title: `The project store is ${store}` })
    );
  }

  private _renderCrumbs(): void {
    const parts = segments(this._path);
    this._crumbs.replaceChildren();
    const crumb = (label: string, path: string, last: boolean): HTMLElement => {
      const b = h('button', {
        class: `hops-StoreCrumb${last ? ' hops-mod-current' : ''}`,
        text: label,
        title: path === '' ? "The store's root" : path,
        attrs: { type: 'button', 'data-path': path, ...(last ? { 'aria-current': 'location' } : {}) },
        on: { click: () => void this.cd(path) }
      });
      return b;
    };
    const root = crumb('', '', parts.length === 0);
    storeIcon.element({ container: root, height: '14px', width: '14px', tag: 'span' });
    root.setAttribute('aria-label', "The store's root");
    this._crumbs.append(root);
    parts.forEach((p, i) => {
      this._crumbs.append(h('span', { class: 'hops-StoreCrumb-sep', text: '/', attrs: { 'aria-hidden': 'true' } }));
      this._crumbs.append(crumb(p, parts.slice(0, i + 1).join('/'), i === parts.length - 1));
    });
  }

  private _renderColumns(): void {
    this._columns.replaceChildren();
    const col = (key: SortKey, label: string): HTMLElement => {
      const on = this._sort.key === key;
      return h('button', {
        class: `hops-StoreColumn hops-StoreColumn-${key}${on ? ' hops-mod-sorted' : ''}`,
        text: on ? `${label} ${this._sort.ascending ? '▴' : '▾'}` : label,
        title: `Sort by ${label.toLowerCase()}`,
        attrs: { type: 'button', 'aria-sort': on ? (this._sort.ascending ? 'ascending' : 'descending') : 'none' },
        on: {
          click: () => {
            this._sort = { key, ascending: on ? !this._sort.ascending : key === 'name' };
            this._render();
          }
        }
      });
    };
    this._columns.append(col('name', 'Name'), col('size', 'Size'), col('modified', 'Modified'));
  }

  private _list(listing: IStoreListing): HTMLElement {
    const ul = h('ul', { class: 'hops-StoreList', attrs: { role: 'listbox', 'aria-label': `Entries of ${this._path || 'the store'}` } });
    for (const e of sortEntries(listing.entries, this._sort.key, this._sort.ascending)) {
      ul.append(this._row(e));
    }
    return ul;
  }

  private _row(e: IStoreEntry): HTMLElement {
    const path = this.pathOf(e);
    const icon = h('span', { class: 'hops-StoreEntry-icon' });
    (e.dir ? folderIcon : (this._opts.iconFor?.(e.name) ?? fileIcon)).element({
      container: icon,
      height: '16px',
      width: '16px'
    });
    const hint = this._path === '' ? LAYOUT_HINTS[e.name] : undefined;
    const li = h(
      'li',
      {
        class: `hops-StoreEntry${e.dir ? ' hops-mod-dir' : ''}`,
        attrs: {
          role: 'option',
          tabindex: '-1',
          'aria-selected': 'false',
          'data-name': e.name,
          'data-kind': e.dir ? 'directory' : 'file'
        }
      },
      icon,
      h('span', { class: 'hops-StoreEntry-name', text: e.name, title: hint ? `${path}: ${hint}` : path }),
      h('span', {
        class: 'hops-StoreEntry-size',
        text: e.dir ? '' : formatSize(e.size),
        title: e.dir ? '' : exactSize(e.size)
      }),
      h('time', {
        class: 'hops-StoreEntry-modified',
        text: relativeTime(e.modified, Date.now(), 'short'),
        title: exactTime(e.modified),
        attrs: { datetime: e.modified }
      })
    );
    li.addEventListener('click', () => this._select(e.name));
    li.addEventListener('contextmenu', () => this._select(e.name, false));
    li.addEventListener('dblclick', ev => {
      ev.preventDefault();
      this.open(e);
    });
    return li;
  }

  private _empty(): HTMLElement {
    const reason = this._readOnly();
    const top = segments(this._path)[0];
    return message(
      'This folder is empty.',
      reason === null
        ? 'Drop files here or use Upload to add some; notebooks read them with hops.fs.open(…).'
        : (LAYOUT_HINTS[top] ?? '')
    );
  }

  private _error(status: number, text: string): HTMLElement {
    const retry = h('button', {
      class: 'hops-Button hops-mod-accept',
      text: 'Retry',
      attrs: { type: 'button' },
      on: { click: () => void this.refresh() }
    });
    let title = 'Cannot list this folder';
    let extra: HTMLElement | null = null;
    if (status === 503) {
      title = 'The store is unreachable';
    } else if (status === 0) {
      title = 'Cannot reach hops lab';
    } else if (status === 403) {
      title = 'Not allowed';
    } else if (status === 404 && this._path !== '') {
      title = 'This folder is not there any more';
      const up = parentPath(this._path);
      extra = h('button', {
        class: 'hops-Button',
        text: up ? `Go to ${baseName(up)}` : "Go to the store's root",
        attrs: { type: 'button' },
        on: { click: () => void this.cd(up) }
      });
    }
    return errorMessage(title, text, retry, extra);
  }

  /** Marks the selected row (and gives it the tab stop), and updates what the toolbar offers. */
  private _renderSelection(focus = false): void {
    const rows = Array.from(this._body.querySelectorAll<HTMLElement>('.hops-StoreEntry'));
    let current: HTMLElement | null = null;
    for (const row of rows) {
      const on = row.dataset.name === this._selected;
      row.classList.toggle('hops-mod-selected', on);
      row.setAttribute('aria-selected', String(on));
      row.tabIndex = -1;
      if (on) {
        current = row;
      }
    }
    const stop = current ?? rows[0];
    if (stop) {
      stop.tabIndex = 0;
    }
    if (focus) {
      // An empty folder keeps the focus in the list, so that Backspace still goes up.
      (stop ?? this._body).focus();
    }
    this._renderToolbar();
  }

  private _renderToolbar(): void {
    const b = this._buttons;
    const entry = this.selected;
    const listed = this._state.kind === 'list';
    const reason = this._readOnly();
    b.upload.disabled = !listed || reason !== null;
    b.upload.title = reason ?? `Upload files into ${this._path}/`;
    b.newFolder.disabled = !listed || reason !== null;
    b.newFolder.title = reason ?? `New folder in ${this._path}/`;
    b.download.disabled = !entry || entry.dir;
    b.download.title = entry && !entry.dir ? `Download ${entry.name}` : 'Download the selected file';
    b.copy.disabled = !entry;
    b.copy.title = entry
      ? `Copy ${notebookSnippet(this.pathOf(entry), entry.dir)} (to use it in a notebook)`
      : 'Copy the selected entry as hops.fs.open("…") for a notebook';
    const change = this.canChange(entry);
    const why = entry && !change ? (readOnlyReason(this._path) ?? `${entry.name} is part of the project layout.`) : null;
    b.rename.disabled = !change;
    b.rename.title = why ?? (entry ? `Rename or move ${entry.name}` : 'Rename or move the selected entry');
    b.delete.disabled = !change;
    b.delete.title = why ?? (entry ? `Delete ${entry.name}` : 'Delete the selected entry');
  }

  private _select(name: string | null, focus = true): void {
    this._selected = name;
    this._renderSelection(focus && name !== null);
  }

  /** Keys in the list: arrows, Home and End move the selection; Enter opens; Backspace or Alt+Up goes up; F2
   * renames; Delete deletes. */
  private _onKey(ev: KeyboardEvent): void {
    const rows = Array.from(this._body.querySelectorAll<HTMLElement>('.hops-StoreEntry'));
    const row = ev.target instanceof Element ? ev.target.closest<HTMLElement>('.hops-StoreEntry') : null;
    const e = row ? (this.listing?.entries.find(x => x.name === row.dataset.name) ?? null) : null;
    const i = row ? rows.indexOf(row) : -1;
    const move = (j: number): void => {
      const next = rows[Math.max(0, Math.min(rows.length - 1, j))];
      if (next) {
        this._select(next.dataset.name ?? null);
      }
    };
    const up = (): void => {
      if (this._path !== '') {
        const from = baseName(this._path);
        void this.cd(parentPath(this._path)).then(() => {
          // Back in the folder above, the folder just left is the one selected.
          if (this.listing?.entries.some(x => x.name === from)) {
            this._select(from);
          }
        });
      }
    };
    let handled = true;
    switch (ev.key) {
      case 'ArrowDown':
        move(i + 1);
        break;
      case 'ArrowUp':
        if (ev.altKey) {
          up();
        } else {
          move(i < 0 ? rows.length - 1 : i - 1);
        }
        break;
      case 'Home':
        move(0);
        break;
      case 'End':
        move(rows.length - 1);
        break;
      case 'Backspace':
        up();
        break;
      case 'Enter':
        if (e) {
          this.open(e);
        }
        break;
      case 'F2':
        if (e) {
          void this.rename(e);
        }
        break;
      case 'Delete':
        if (e) {
          void this.remove(e);
        }
        break;
      default:
        handled = false;
    }
    if (handled) {
      ev.preventDefault();
      ev.stopPropagation();
    }
  }

  /** Rewrites the relative times ("5 minutes ago"). */
  private _updateTimes(): void {
    for (const t of Array.from(this._body.querySelectorAll<HTMLTimeElement>('time.hops-StoreEntry-modified'))) {
      t.textContent = relativeTime(t.dateTime, Date.now(), 'short');
    }
  }

  /** Why the folder shown takes no uploads (null if it does). */
  private _readOnly(): string | null {
    return readOnlyReason(this._path);
  }

  // -------------------------------------------------------------------------------------------------------------
  // store lookups

  /** The entries of a folder: the listing shown for the folder shown (unless fresh), else asked for; none if the
   * folder is missing. */
  private async _entriesOf(dir: string, fresh = false): Promise<IStoreEntry[]> {
    if (!fresh && dir === this._path && this._state.kind === 'list') {
      return this._state.listing.entries;
    }
    try {
      return (await this._opts.api.list(dir)).entries;
    } catch (err) {
      if (err instanceof APIError && err.status === 404) {
        return [];
      }
      throw err;
    }
  }

  /** The entry at path, or null (found in its folder's listing; a folder that is missing holds nothing). */
  private async _entryAt(path: string): Promise<IStoreEntry | null> {
    if (path === '') {
      return { name: '', size: 0, modified: '', dir: true };
    }
    const name = baseName(path);
    return (await this._entriesOf(parentPath(path), true)).find(e => e.name === name) ?? null;
  }

  // -------------------------------------------------------------------------------------------------------------
  // uploads

  private _enqueue(file: File, path: string): void {
    const cancel = h('button', {
      class: 'hops-IconButton hops-StoreUpload-cancel',
      attrs: { type: 'button', 'aria-label': `Cancel the upload of ${file.name}` },
      title: 'Cancel'
    });
    closeIcon.element({ container: cancel, height: '14px', width: '14px' });
    const retry = h('button', {
      class: 'hops-LinkButton hops-StoreUpload-retry',
      text: 'Retry',
      title: `Upload ${file.name} again`,
      attrs: { type: 'button' }
    });
    retry.hidden = true;
    const item: IUploadItem = {
      file,
      path,
      loaded: 0,
      state: 'queued',
      el: h(
        'li',
        { class: 'hops-StoreUpload', attrs: { 'data-name': file.name, 'data-path': path } },
        h(
          'div',
          { class: 'hops-StoreUpload-line' },
          h('span', { class: 'hops-StoreUpload-name', text: file.name, title: `${file.name} → ${path}` }),
          retry,
          cancel
        ),
        h(
          'div',
          {
            class: 'hops-StoreUpload-track',
            attrs: { role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-label': `Upload of ${file.name}` }
          },
          h('div', { class: 'hops-StoreUpload-fill' })
        ),
        h('div', { class: 'hops-StoreUpload-status' })
      )
    };
    cancel.addEventListener('click', () => this._cancel(item));
    retry.addEventListener('click', () => {
      if (item.state === 'failed') {
        item.state = 'queued';
        item.loaded = 0;
        item.error = undefined;
        this._renderUpload(item);
        this._renderUploads();
        void this._pump();
      }
    });
    this._queue.push(item);
    this._uploadList.append(item.el);
    this._renderUpload(item);
    this._renderUploads();
  }

  private _cancel(item: IUploadItem): void {
    if (item.state === 'uploading') {
      item.handle?.cancel();
    } else if (item.state === 'queued') {
      item.state = 'cancelled';
      this._renderUpload(item);
      this._forget(item, 0);
    } else {
      this._forget(item, 0);
    }
  }

  /** Uploads the queued files, one at a time. */
  private async _pump(): Promise<void> {
    if (this._pumping) {
      return;
    }
    this._pumping = true;
    window.addEventListener('beforeunload', this._onBeforeUnload);
    let uploaded = 0;
    const dirs = new Set<string>();
    try {
      for (;;) {
        const item = this._queue.find(u => u.state === 'queued');
        if (!item) {
          break;
        }
        item.state = 'uploading';
        this._renderUpload(item);
        this._renderUploads();
        item.handle = this._opts.api.upload(item.path, item.file, loaded => {
          item.loaded = loaded;
          this._renderUpload(item);
        });
        try {
          await item.handle.done;
          item.state = 'done';
          item.loaded = item.file.size;
          uploaded++;
          dirs.add(parentPath(item.path));
          this._forget(item, DONE_MS);
          if (parentPath(item.path) === this._path) {
            void this.refresh();
          }
        } catch (err) {
          if (err instanceof CancelledError) {
            item.state = 'cancelled';
            this._forget(item, DONE_MS);
          } else {
            item.state = 'failed';
            item.error = errorText(err);
          }
        }
        this._renderUpload(item);
        this._renderUploads();
      }
    } finally {
      this._pumping = false;
      window.removeEventListener('beforeunload', this._onBeforeUnload);
    }
    // The list of uploads says so in the panel; a toast says so when the panel is not in view.
    if (uploaded > 0 && !this.isVisible) {
      const where = [...dirs].map(d => `${d}/`).join(', ');
      Notification.success(`Uploaded ${uploaded === 1 ? 'a file' : `${uploaded} files`} to ${where}`, { autoClose: 4000 });
    }
  }

  /** Takes a finished upload off the list after ms. */
  private _forget(item: IUploadItem, ms: number): void {
    window.setTimeout(() => {
      const i = this._queue.indexOf(item);
      if (i >= 0 && item.state !== 'uploading' && item.state !== 'queued' && !this.isDisposed) {
        this._queue.splice(i, 1);
        item.el.remove();
        this._renderUploads();
      }
    }, ms);
  }

  private _renderUpload(item: IUploadItem): void {
    const total = item.file.size;
    const pct = total > 0 ? Math.min(100, (item.loaded / total) * 100) : item.state === 'done' ? 100 : 0;
    item.el.dataset.state = item.state;
    const fill = item.el.querySelector<HTMLElement>('.hops-StoreUpload-fill');
    if (fill) {
      fill.style.width = `${item.state === 'done' ? 100 : pct}%`;
    }
    item.el.querySelector('.hops-StoreUpload-track')?.setAttribute('aria-valuenow', String(Math.round(pct)));
    const status = item.el.querySelector<HTMLElement>('.hops-StoreUpload-status');
    if (status) {
      const texts: Record<UploadState, string> = {
        queued: `Waiting · ${formatSize(total)}`,
        uploading: progressText(item.loaded, total),
        done: `Uploaded · ${formatSize(total)}`,
        failed: `Failed: ${item.error ?? 'unknown error'}`,
        cancelled: 'Cancelled (the store keeps what it had)'
      };
      status.textContent = texts[item.state];
      status.title = status.textContent;
    }
    const retry = item.el.querySelector<HTMLButtonElement>('.hops-StoreUpload-retry');
    if (retry) {
      retry.hidden = item.state !== 'failed';
    }
    const cancel = item.el.querySelector<HTMLButtonElement>('.hops-StoreUpload-cancel');
    if (cancel) {
      const active = item.state === 'queued' || item.state === 'uploading';
      cancel.title = active ? 'Cancel' : 'Dismiss';
      cancel.setAttribute('aria-label', `${active ? 'Cancel the upload of' : 'Dismiss'} ${item.file.name}`);
    }
  }

  private _renderUploads(): void {
    const active = this._queue.filter(u => u.state === 'queued' || u.state === 'uploading').length;
    this._uploads.hidden = this._queue.length === 0;
    this._uploadTitle.textContent = active ? `Uploading ${active === 1 ? '1 file' : `${active} files`}` : 'Uploads';
  }

  private readonly _onBeforeUnload = (ev: BeforeUnloadEvent): void => {
    if (this._queue.some(u => u.state === 'uploading' || u.state === 'queued')) {
      ev.preventDefault();
    }
  };

  // -------------------------------------------------------------------------------------------------------------
  // drag and drop of files from the desktop

  private readonly _onDrag = (ev: DragEvent): void => {
    const dt = ev.dataTransfer;
    if (!dt || !Array.from(dt.types).includes('Files')) {
      return;
    }
    ev.preventDefault();
    ev.stopPropagation();
    if (ev.type === 'dragleave') {
      if (!(ev.relatedTarget instanceof Node) || !this.node.contains(ev.relatedTarget)) {
        this._showDrop(null);
      }
      return;
    }
    const dir = this._dropDir(ev.target);
    if (ev.type === 'drop') {
      this._showDrop(null);
      if (dir === null || !writableFolder(dir)) {
        Notification.warning(readOnlyReason(dir ?? this._path) ?? 'Cannot upload here.', { autoClose: 6000 });
        return;
      }
      const files: File[] = [];
      let folders = 0;
      for (const item of Array.from(dt.items)) {
        if (item.kind !== 'file') {
          continue;
        }
        if (item.webkitGetAsEntry()?.isDirectory) {
          folders++;
          continue;
        }
        const f = item.getAsFile();
        if (f) {
          files.push(f);
        }
      }
      if (folders) {
        Notification.warning(
          `Folders are not uploaded (${folders === 1 ? 'one was' : `${folders} were`} dropped): create the folder, open it, and drop its files.`,
          { autoClose: 8000 }
        );
      }
      if (files.length) {
        void this.upload(files, dir);
      }
      return;
    }
    const ok = dir !== null && writableFolder(dir);
    dt.dropEffect = ok ? 'copy' : 'none';
    this._showDrop(dir ?? this._path, ok);
  };

  /** The folder a drop on target goes into: a writable folder row under it, else the folder shown; null while
   * nothing is listed. */
  private _dropDir(target: EventTarget | null): string | null {
    if (this._state.kind !== 'list') {
      return null;
    }
    const row = target instanceof Element ? target.closest<HTMLElement>('.hops-StoreEntry.hops-mod-dir') : null;
    if (row?.dataset.name) {
      const dir = joinPath(this._path, row.dataset.name);
      if (writableFolder(dir)) {
        return dir;
      }
    }
    return this._path;
  }

  private _showDrop(dir: string | null, ok = false): void {
    this.node.classList.toggle('hops-mod-dropping', dir !== null);
    for (const row of Array.from(this._body.querySelectorAll('.hops-StoreEntry.hops-mod-dropTarget'))) {
      row.classList.remove('hops-mod-dropTarget');
    }
    this._drop.hidden = dir === null;
    if (dir === null) {
      return;
    }
    this._drop.classList.toggle('hops-mod-refused', !ok);
    this._drop.textContent = ok
      ? `Drop to upload into ${dir}/`
      : (readOnlyReason(dir) ?? `Cannot upload into ${dir}/`);
    if (ok && dir !== this._path) {
      this._body
        .querySelector(`.hops-StoreEntry[data-name="${CSS.escape(baseName(dir))}"]`)
        ?.classList.add('hops-mod-dropTarget');
    }
  }

  private _path = '';
  private _state: State = { kind: 'loading' };
  private _selected: string | null = null;
  private _sort: { key: SortKey; ascending: boolean } = { key: 'name', ascending: true };
  private _request = 0;
  private _clock = 0;
  private _lastStore = '';
  private _pumping = false;
  private readonly _queue: IUploadItem[] = [];
  private readonly _buttons = {
    refresh: iconButton(refreshIcon, { label: 'Refresh', action: 'refresh' }, () => void this.refresh()),
    newFolder: iconButton(newFolderIcon, { label: 'New folder', action: 'new-folder' }, () => void this.newFolder()),
    upload: iconButton(fileUploadIcon, { label: 'Upload', action: 'upload' }, () => this.pickFiles()),
    download: iconButton(downloadIcon, { label: 'Download', action: 'download' }, () => {
      const e = this.selected;
      if (e && !e.dir) {
        void this.download(e);
      }
    }),
    copy: iconButton(copyIcon, { label: 'Copy for a notebook', action: 'copy' }, () => {
      const e = this.selected;
      if (e) {
        this.copySnippet(e);
      }
    }),
    rename: iconButton(editIcon, { label: 'Rename', action: 'rename' }, () => {
      const e = this.selected;
      if (e) {
        void this.rename(e);
      }
    }),
    delete: iconButton(deleteIcon, { label: 'Delete', action: 'delete' }, () => {
      const e = this.selected;
      if (e) {
        void this.remove(e);
      }
    })
  };
  private readonly _where = h('div', { class: 'hops-StorePanel-where' });
  private readonly _crumbs = h('nav', { class: 'hops-StoreCrumbs', attrs: { 'aria-label': 'Folder' } });
  private readonly _note = h('div', { class: 'hops-StorePanel-note' });
  private readonly _columns = h('div', { class: 'hops-StoreColumns' });
  private readonly _body = h('div', { class: 'hops-StorePanel-body', attrs: { tabindex: '-1' } });
  private readonly _uploadTitle = h('span', { class: 'hops-StoreUploads-title' });
  private readonly _uploadList = h('ul', { class: 'hops-StoreUploads-list' });
  private readonly _uploads = (() => {
    const box = h('section', { class: 'hops-StoreUploads', attrs: { 'aria-live': 'polite' } }, this._uploadTitle, this._uploadList);
    box.hidden = true;
    return box;
  })();
  private readonly _drop = (() => {
    const d = h('div', { class: 'hops-StoreDrop', attrs: { 'aria-hidden': 'true' } });
    d.hidden = true;
    return d;
  })();
  private readonly _fileInput = (() => {
    const input = h('input', {
      class: 'hops-StorePanel-fileInput',
      attrs: { type: 'file', multiple: '', 'aria-label': 'Files to upload', tabindex: '-1' }
    });
    input.hidden = true;
    return input;
  })();
}

// -------------------------------------------------------------------------------------------------------------------
// the name dialog: an input with its error shown as the user types

interface IAskName {
  title: string;
  label: string;
  value: string;
  ok: string;
  /** Selects the first select characters (the name without its extension). */
  select?: number;
  validate: (value: string) => string | null;
}

class NameBody extends Widget implements Dialog.IBodyWidget<string> {
  constructor(private readonly _ask: IAskName) {
    super({ node: h('div', { class: 'hops-StoreDialog hops-NameDialog' }) });
    this._input.value = _ask.value;
    this._input.addEventListener('input', () => this._check());
    this.node.append(h('label', { class: 'hops-NameDialog-label' }, h('span', { text: _ask.label }), this._input), this._error);
    this._check();
  }

  getValue(): string {
    return this._input.value;
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    requestAnimationFrame(() => {
      this._check();
      this._input.focus();
      this._input.setSelectionRange(0, this._ask.select ?? this._input.value.length);
    });
  }

  private _check(): void {
    const err = this._ask.validate(this._input.value);
    this._error.textContent = err ?? '';
    this._error.hidden = err === null;
    this._input.setAttribute('aria-invalid', String(err !== null));
    const accept = this.node.closest('.jp-Dialog')?.querySelector<HTMLButtonElement>('.jp-Dialog-button.jp-mod-accept');
    if (accept) {
      accept.disabled = err !== null;
    }
  }

  private readonly _input = h('input', { class: 'jp-mod-styled hops-NameDialog-input', attrs: { type: 'text', spellcheck: 'false' } });
  private readonly _error = h('div', { class: 'hops-NameDialog-error', attrs: { role: 'alert' } });
}

/** Asks for a name until it is valid or the user cancels (null). */
async function askName(ask: IAskName): Promise<string | null> {
  let value = ask.value;
  for (;;) {
    const result = await showDialog({
      title: ask.title,
      body: new NameBody({ ...ask, value }),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: ask.ok })],
      focusNodeSelector: 'input'
    });
    if (!result.button.accept || result.value === null) {
      return null;
    }
    value = result.value;
    if (ask.validate(value) === null) {
      return value;
    }
  }
}
