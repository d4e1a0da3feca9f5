// Starts yaml-language-server with its validation debounce at 0 ms instead of the hard-coded
// 200 ms (SettingsState sets `this.validationDelayMs = 200` in its constructor; an accessor on
// the prototype turns that assignment into a no-op), so both servers are timed without delay.
const path = require('node:path');
const root = path.join(__dirname, '..', '..', 'node_modules', 'yaml-language-server');
const { SettingsState } = require(path.join(root, 'out', 'server', 'src', 'yamlSettings.js'));
Object.defineProperty(SettingsState.prototype, 'validationDelayMs', {
  get: () => 0,
  set: () => {},
  configurable: true,
});
require(path.join(root, 'bin', 'yaml-language-server'));
