// @ts-check
/** The package version (host-js/package.json; a unit test keeps the two equal). The worker states its own. */
export const VERSION = '0.1.0';
