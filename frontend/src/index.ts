// The hops JupyterLab extension: a Versions side panel for the current notebook (its git history: every save
// is a version) and a cell-level diff view, with the commands "hops: Show notebook versions" and "hops: Compare
// with previous version" in the command palette.

import { ILabShell, ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification, WidgetTracker } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { INotebookTracker } from '@jupyterlab/notebook';

import { CURRENT, VersionsAPI } from './api';
import { DiffPanel, IComparison } from './diffview';
import { versionsIcon } from './icons';
import { VersionsPanel } from './panel';

/** Command ids. */
export const CommandIDs = {
  showVersions: 'hops:show-versions',
  comparePrevious: 'hops:compare-with-previous',
  openDiff: 'hops:open-diff'
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

export default [versionsPlugin] as JupyterFrontEndPlugin<unknown>[];
