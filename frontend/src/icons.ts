// The icon of the Versions panel and of the diff view: a clock with an arrow turning back (history).

import { LabIcon } from '@jupyterlab/ui-components';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M13 3a9 9 0 1 1-8.95 10h2.02A7 7 0 1 0 13 5a6.97 6.97 0 0 0-4.95 2.05L10 9H4V3l2.64 2.64A8.96 8.96 0 0 1 13 3z"/>
    <path d="M12 8h1.6v4.3l3.4 2-.8 1.3-4.2-2.5z"/>
  </g>
</svg>`;

export const versionsIcon = new LabIcon({ name: 'hops:versions', svgstr: svg });
