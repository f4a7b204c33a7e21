/** Every API the Kafka frontend serves; ApiVersions is built from this list. */
import type { ApiHandler } from './api.js';
import { produceApi } from './00-produce.js';
import { fetchApi } from './01-fetch.js';
import { listOffsetsApi } from './02-list-offsets.js';
import { metadataApi } from './03-metadata.js';
import { apiVersionsApi } from './18-api-versions.js';
import { initProducerIdApi } from './22-init-producer-id.js';

const served: ApiHandler[] = [
  produceApi as ApiHandler,
  fetchApi as ApiHandler,
  listOffsetsApi as ApiHandler,
  metadataApi as ApiHandler,
  initProducerIdApi as ApiHandler,
];

export const allApis: readonly ApiHandler[] = [...served, apiVersionsApi(served) as ApiHandler];
