#!/usr/bin/env node
// Fetches the provider specs tests use into $INTEGRATIONS_SPECS_DIR (default ../shared/specs), verifying each
// file's sha256 against the pinned manifest. Files already present with the right hash are left alone.
import { ensureSpecs, specsDir } from '../src/specs.mjs';

const dir = specsDir();
try {
  for (const { file, action } of await ensureSpecs({ dir })) console.log(`${action.padEnd(8)} ${file}`);
  console.log(`specs ready in ${dir}`);
} catch (error) {
  console.error(`fetch-specs: ${error.message}`);
  process.exit(1);
}
