// The hops JupyterLab extension: a Versions side panel for the current notebook (its git history: every save
// is a version) and a cell-level diff view, with the commands "hops: Show notebook versions" and "hops: Compare
// with previous version" in the command palette; and a Project store panel (a file browser of the project store,
// local or HDFS), with "hops: Show project store" and a context menu on its entries; and an Experiments panel (the
// runs of %%hops run cells, a view of one run, a comparison of runs), with "hops: Show experiments".

import { ILabShell, ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification, WidgetTracker } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { INotebookTracker } from '@jupyterlab/notebook';
import {
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

import { CURRENT, VersionsAPI } from './api';
import { DiffPanel, IComparison } from './diffview';
import { CompareView, ExperimentsPanel, ExperimentView } from './experiments';
import { ExperimentsAPI } from './experimentsapi';
import { experimentsIcon, storeIcon, versionsIcon } from './icons';
import { VersionsPanel } from './panel';
import { StorePanel } from './store';
import { StoreAPI } from './storeapi';
import { IStoreEntry, notebookSnippet } from './storepath';

/** Command ids. */
export const CommandIDs = {
  showVersions: 'hops:show-versions',
  comparePrevious: 'hops:compare-with-previous',
  openDiff: 'hops:open-diff',
  showStore: 'hops:show-store',
  storeOpen: 'hops:store-open',
  storeDownload: 'hops:store-download',
  storeCopySnippet: 'hops:store-copy-snippet',
  storeCopyPath: 'hops:store-copy-path',
  storeRename: 'hops:store-rename',
  storeDelete: 'hops:store-delete',
  storeNewFolder: 'hops:store-new-folder',
  storeUpload: 'hops:store-upload',
  storeRefresh: 'hops:store-refresh',
  showExperiments: 'hops:show-experiments',
  openExperiment: 'hops:open-experiment',
  compareExperiments: 'hops:compare-experiments'
} as const;

const PALETTE_CATEGORY = 'hops';

const versionsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@hopsml/hops:versions',
  description: 'Notebook versions: a history panel, a cell-level diff view, and restore.',
  autoStart: true,
  requires: [ILabShell, INotebookTracker],
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell,
    notebooks: INotebookTracker,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const api = new VersionsAPI(app.serviceManager.serverSettings);
    const contents = app.serviceManager.contents;

    // Open diff views come back after a reload, as JupyterLab's own documents do.
    const diffs = new WidgetTracker<DiffPanel>({ namespace: 'hops-diff' });
    const openDiff = (c: IComparison): void => {
      const open = diffs.find(w => w.id === DiffPanel.idFor(c));
      if (open) {
        labShell.activateById(open.id);
        return;
      }
      const diff = new DiffPanel(api, c);
      void diffs.add(diff);
      labShell.add(diff, 'main', { mode: 'tab-after' });
      labShell.activateById(diff.id);
    };
    app.commands.addCommand(CommandIDs.openDiff, {
      label: args => `Compare versions of ${typeof args.path === 'string' ? args.path : 'a notebook'}`,
      describedBy: {
        args: {
          type: 'object',
          properties: {
            path: { type: 'string', description: 'The notebook, relative to the workspace' },
            from: { type: 'string', description: 'The older commit' },
            to: { type: 'string', description: 'The newer commit, or "current" for the file on disk' }
          },
          required: ['path', 'from']
        }
      },
      execute: args => {
        const { path, from, to } = args as { path?: unknown; from?: unknown; to?: unknown };
        if (typeof path !== 'string' || typeof from !== 'string') {
          throw new Error(`${CommandIDs.openDiff} needs a path and a from commit`);
        }
        openDiff({ path, from, to: typeof to === 'string' && to !== '' ? to : CURRENT });
      }
    });
    if (restorer) {
      void restorer.restore(diffs, {
        command: CommandIDs.openDiff,
        args: w => ({ ...w.content.comparison }),
        name: w => w.id
      });
    }

    const panel = new VersionsPanel({ api, openDiff, localPath: p => contents.localPath(p) });
    labShell.add(panel, 'right', { rank: 650, type: 'Versions' });
    restorer?.add(panel, 'hops-versions');

    const follow = (): void => panel.setContext(notebooks.currentWidget?.context ?? null);
    notebooks.currentChanged.connect(follow);
    follow();

    app.commands.addCommand(CommandIDs.showVersions, {
      label: 'hops: Show notebook versions',
      caption: 'Open the Versions panel: every save of the current notebook, to compare or restore',
      icon: versionsIcon,
      execute: () => {
        labShell.activateById(panel.id);
      }
    });

    app.commands.addCommand(CommandIDs.comparePrevious, {
      label: 'hops: Compare with previous version',
      caption: 'Show what the last save of the current notebook changed',
      isEnabled: () => notebooks.currentWidget !== null,
      execute: async () => {
        const nb = notebooks.currentWidget;
        if (!nb) {
          Notification.info('Open a notebook first: hops compares the versions of the current notebook.');
          return;
        }
        const path = contents.localPath(nb.context.path);
        const name = PathExt.basename(path);
        try {
          const { versions } = await api.versions(path, 2);
          if (versions.length === 0) {
            Notification.info(`${name} has no versions yet: save it to record one.`, { autoClose: 5000 });
          } else if (versions.length === 1) {
            Notification.info(`${name} has a single version: nothing to compare it with yet.`, { autoClose: 5000 });
          } else {
            openDiff({ path, from: versions[1].commit, to: versions[0].commit });
          }
        } catch (err) {
          Notification.error(`Cannot compare ${name}: ${err instanceof Error ? err.message : String(err)}`, {
            autoClose: 8000
          });
        }
      }
    });

    if (palette) {
      palette.addItem({ command: CommandIDs.showVersions, category: PALETTE_CATEGORY });
      palette.addItem({ command: CommandIDs.comparePrevious, category: PALETTE_CATEGORY });
    }
    notebooks.currentChanged.connect(() => app.commands.notifyCommandChanged(CommandIDs.comparePrevious));
  }
};

const storePlugin: JupyterFrontEndPlugin<void> = {
  id: '@hopsml/hops:store',
  description: 'The project store (a local directory or HDFS): browse, upload, download, rename, delete.',
  autoStart: true,
  requires: [ILabShell],
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (app: JupyterFrontEnd, labShell: ILabShell, palette: ICommandPalette | null, restorer: ILayoutRestorer | null) => {
    const api = new StoreAPI(app.serviceManager.serverSettings);
    const iconFor = (name: string): LabIcon => app.docRegistry.getFileTypesForPath(name).find(t => t.icon)?.icon ?? fileIcon;
    const panel = new StorePanel({ api, iconFor });
    labShell.add(panel, 'left', { rank: 150, type: 'Project store' });
    restorer?.add(panel, 'hops-store');

    app.commands.addCommand(CommandIDs.showStore, {
      label: 'hops: Show project store',
      caption: 'Open the Project store panel: Experiments, Models, FeatureStore, Resources and Logs, local or on HDFS',
      icon: storeIcon,
      // args.path: a folder to show (an experiment's artifacts, a model's version).
      execute: args => {
        labShell.activateById(panel.id);
        if (typeof args.path === 'string' && args.path !== '') {
          void panel.cd(args.path);
        }
      }
    });
    palette?.addItem({ command: CommandIDs.showStore, category: PALETTE_CATEGORY });

    // The commands of the context menu act on the entry that was right-clicked (it is selected first).
    const entry = (): IStoreEntry | null => panel.selected;
    const add = (
      id: string,
      label: string | (() => string),
      icon: LabIcon,
      run: () => unknown,
      opts: { visible?: () => boolean; enabled?: () => boolean } = {}
    ): void => {
      app.commands.addCommand(id, {
        label,
        icon,
        isVisible: opts.visible,
        isEnabled: opts.enabled,
        execute: () => {
          void Promise.resolve(run());
        }
      });
    };
    const isDir = (): boolean => entry()?.dir === true;
    const isFile = (): boolean => entry()?.dir === false;
    add(CommandIDs.storeOpen, 'Open', folderIcon, () => {
      const e = entry();
      if (e) {
        panel.open(e);
      }
    }, { visible: isDir });
    add(CommandIDs.storeDownload, 'Download', downloadIcon, () => {
      const e = entry();
      return e && !e.dir ? panel.download(e) : undefined;
    }, { visible: isFile });
    add(
      CommandIDs.storeCopySnippet,
      () => {
        const e = entry();
        return e ? `Copy ${notebookSnippet(panel.pathOf(e), e.dir)}` : 'Copy for a notebook';
      },
      copyIcon,
      () => {
        const e = entry();
        if (e) {
          panel.copySnippet(e);
        }
      },
      { visible: () => entry() !== null }
    );
    add(CommandIDs.storeCopyPath, 'Copy path', copyIcon, () => {
      const e = entry();
      if (e) {
        panel.copyPath(e);
      }
    }, { visible: () => entry() !== null });
    add(CommandIDs.storeRename, 'Rename or move…', editIcon, () => {
      const e = entry();
      return e ? panel.rename(e) : undefined;
    }, { visible: () => entry() !== null, enabled: () => panel.canChange(entry()) });
    add(CommandIDs.storeDelete, 'Delete…', deleteIcon, () => {
      const e = entry();
      return e ? panel.remove(e) : undefined;
    }, { visible: () => entry() !== null, enabled: () => panel.canChange(entry()) });
    add(CommandIDs.storeNewFolder, 'New folder…', newFolderIcon, () => panel.newFolder(), { enabled: () => panel.writable });
    add(CommandIDs.storeUpload, 'Upload files…', fileUploadIcon, () => panel.pickFiles(), { enabled: () => panel.writable });
    add(CommandIDs.storeRefresh, 'Refresh', refreshIcon, () => panel.refresh());

    const onEntry = '.hops-StorePanel .hops-StoreEntry';
    const inList = '.hops-StorePanel .hops-StorePanel-body';
    app.contextMenu.addItem({ command: CommandIDs.storeOpen, selector: onEntry, rank: 1 });
    app.contextMenu.addItem({ command: CommandIDs.storeDownload, selector: onEntry, rank: 2 });
    app.contextMenu.addItem({ type: 'separator', selector: onEntry, rank: 3 });
    app.contextMenu.addItem({ command: CommandIDs.storeCopySnippet, selector: onEntry, rank: 4 });
    app.contextMenu.addItem({ command: CommandIDs.storeCopyPath, selector: onEntry, rank: 5 });
    app.contextMenu.addItem({ type: 'separator', selector: onEntry, rank: 6 });
    app.contextMenu.addItem({ command: CommandIDs.storeRename, selector: onEntry, rank: 7 });
    app.contextMenu.addItem({ command: CommandIDs.storeDelete, selector: onEntry, rank: 8 });
    app.contextMenu.addItem({ type: 'separator', selector: inList, rank: 20 });
    app.contextMenu.addItem({ command: CommandIDs.storeNewFolder, selector: inList, rank: 21 });
    app.contextMenu.addItem({ command: CommandIDs.storeUpload, selector: inList, rank: 22 });
    app.contextMenu.addItem({ command: CommandIDs.storeRefresh, selector: inList, rank: 23 });
  }
};

const experimentsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@hopsml/hops:experiments',
  description: 'Experiments: the runs of %%hops run cells, one run in detail, and a comparison of runs.',
  autoStart: true,
  requires: [ILabShell],
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (app: JupyterFrontEnd, labShell: ILabShell, palette: ICommandPalette | null, restorer: ILayoutRestorer | null) => {
    const api = new ExperimentsAPI(app.serviceManager.serverSettings);
    const runs = new WidgetTracker<ExperimentView>({ namespace: 'hops-experiment' });
    const comparisons = new WidgetTracker<CompareView>({ namespace: 'hops-compare' });

    const show = (w: ExperimentView | CompareView): void => {
      labShell.add(w, 'main', { mode: 'tab-after' });
      labShell.activateById(w.id);
    };
    const openRun = (id: string): void => {
      const open = runs.find(w => w.experimentId === id);
      if (open) {
        labShell.activateById(open.id);
        void open.refresh();
        return;
      }
      const view = new ExperimentView({
        api,
        id,
        openNotebookDiff: app.commands.hasCommand(CommandIDs.openDiff)
          ? (path, commit) => void app.commands.execute(CommandIDs.openDiff, { path, from: commit, to: CURRENT })
          : null,
        showInStore: app.commands.hasCommand(CommandIDs.showStore)
          ? path => void app.commands.execute(CommandIDs.showStore, { path })
          : null
      });
      void runs.add(view);
      show(view);
    };
    const compare = (ids: string[]): void => {
      const open = comparisons.find(w => w.id === CompareView.idFor(ids));
      if (open) {
        labShell.activateById(open.id);
        void open.refresh();
        return;
      }
      const view = new CompareView({ api, ids, openRun });
      void comparisons.add(view);
      show(view);
    };

    const panel = new ExperimentsPanel({ api, openRun, compare });
    labShell.add(panel, 'left', { rank: 160, type: 'Experiments' });
    restorer?.add(panel, 'hops-experiments');

    app.commands.addCommand(CommandIDs.showExperiments, {
      label: 'hops: Show experiments',
      caption: 'Open the Experiments panel: the runs of %%hops run cells, to open or compare',
      icon: experimentsIcon,
      execute: () => {
        labShell.activateById(panel.id);
      }
    });
    app.commands.addCommand(CommandIDs.openExperiment, {
      label: args => `Experiment ${typeof args.id === 'string' ? args.id : ''}`.trim(),
      describedBy: {
        args: {
          type: 'object',
          properties: { id: { type: 'string', description: 'The id of the experiment' } },
          required: ['id']
        }
      },
      execute: args => {
        if (typeof args.id !== 'string' || args.id === '') {
          throw new Error(`${CommandIDs.openExperiment} needs the id of an experiment`);
        }
        openRun(args.id);
      }
    });
    app.commands.addCommand(CommandIDs.compareExperiments, {
      label: 'Compare experiments',
      describedBy: {
        args: {
          type: 'object',
          properties: { ids: { type: 'array', items: { type: 'string' }, description: 'The ids of two or more experiments' } },
          required: ['ids']
        }
      },
      execute: args => {
        const ids = Array.isArray(args.ids) ? args.ids.filter((x): x is string => typeof x === 'string') : [];
        if (ids.length < 2) {
          throw new Error(`${CommandIDs.compareExperiments} needs two or more experiment ids`);
        }
        compare(ids);
      }
    });
    palette?.addItem({ command: CommandIDs.showExperiments, category: PALETTE_CATEGORY });
    if (restorer) {
      void restorer.restore(runs, {
        command: CommandIDs.openExperiment,
        args: w => ({ id: w.experimentId }),
        name: w => w.experimentId
      });
      void restorer.restore(comparisons, {
        command: CommandIDs.compareExperiments,
        args: w => ({ ids: [...w.ids] }),
        name: w => w.id
      });
    }
  }
};

export default [versionsPlugin, storePlugin, experimentsPlugin] as JupyterFrontEndPlugin<unknown>[];
