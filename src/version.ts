/** cri-mux's own version (test/unit/version.test.ts keeps it equal to package.json). */
export const CRI_MUX_VERSION = '0.1.0';
export const CRI_API_VERSION = 'v1';
