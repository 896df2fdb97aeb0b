// The icons of the hops panels. Versions and the diff view: a clock with an arrow turning back (history).

import { LabIcon } from '@jupyterlab/ui-components';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M13 3a9 9 0 1 1-8.95 10h2.02A7 7 0 1 0 13 5a6.97 6.97 0 0 0-4.95 2.05L10 9H4V3l2.64 2.64A8.96 8.96 0 0 1 13 3z"/>
    <path d="M12 8h1.6v4.3l3.4 2-.8 1.3-4.2-2.5z"/>
  </g>
</svg>`;

export const versionsIcon = new LabIcon({ name: 'hops:versions', svgstr: svg });

// The icon of the Project store panel: a stack of disks (a data store).
const storeSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 2C7.58 2 4 3.57 4 5.5v13C4 20.43 7.58 22 12 22s8-1.57 8-3.5v-13C20 3.57 16.42 2 12 2zm0 2c3.87 0 6 1.12 6 1.5S15.87 7 12 7 6 5.88 6 5.5 8.13 4 12 4zM6 8.02C7.47 8.65 9.62 9 12 9s4.53-.35 6-.98V11.5c0 .38-2.13 1.5-6 1.5s-6-1.12-6-1.5zm0 6C7.47 14.65 9.62 15 12 15s4.53-.35 6-.98v4.48c0 .38-2.13 1.5-6 1.5s-6-1.12-6-1.5z"/>
  </g>
</svg>`;

export const storeIcon = new LabIcon({ name: 'hops:store', svgstr: storeSvg });

// The icon of the Experiments panel: a flask (runs of %%hops run cells).
const experimentsSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path fill-rule="evenodd" d="M9 2h6v2h-1v5.1l5.8 9.3A2.3 2.3 0 0 1 17.8 22H6.2a2.3 2.3 0 0 1-2-3.6L10 9.1V4H9zm3 8.2L8.9 15h6.2z"/>
  </g>
</svg>`;

export const experimentsIcon = new LabIcon({ name: 'hops:experiments', svgstr: experimentsSvg });
