import { defineBuild } from '@integrations/tooling/tsup';

export default defineBuild();
