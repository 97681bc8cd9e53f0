// Interop proof: a Node.js client built only from the .proto files talks to the emulator.
//
// Usage: node client.js HOST:PORT
//
// Loads /work/main/protos (plus the staged googleapis protos in .build/protodeps and the
// protobuf well-known types) with @grpc/proto-loader, then: GenerateText; CreateTunedModel
// and google.longrunning.Operations/WaitOperation until done; CreateDataset, a batch
// Completion, WaitOperation and the result rows. Prints one "ok ..." line per check and
// exits non-zero with a message on the first failure.
'use strict';

const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const NODE_MODULES = process.env.TEXTGEN_NODE_MODULES || path.join(ROOT, 'tools', 'node', 'node_modules');
const grpc = require(path.join(NODE_MODULES, '@grpc', 'grpc-js'));
const protoLoader = require(path.join(NODE_MODULES, '@grpc', 'proto-loader'));
const protobuf = require(path.join(NODE_MODULES, 'protobufjs'));

const INCLUDE_DIRS = [
  path.join(ROOT, 'protos'),
  path.join(ROOT, '.build', 'protodeps'),
  path.join(NODE_MODULES, 'protobufjs'), // google/protobuf/descriptor.proto
];
const FILES = [
  'textgen/v1/model_service.proto',
  'textgen/v1/tuned_model_service.proto',
  'textgen/v1/dataset_service.proto',
  'textgen/v1/text_generation_batch_service.proto',
  'google/longrunning/operations.proto',
];
const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
const WAIT_SECONDS = 30;

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

function check(condition, message) {
  if (!condition) fail(message);
}

// Wraps a unary method of a grpc-js client as a function returning a promise.
function unary(client, method) {
  return (request) =>
    new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + WAIT_SECONDS * 1000 + 5000);
      client[method](request, { deadline }, (error, response) => {
        if (error) reject(new Error(`${method}: ${error.code} ${error.details}`));
        else resolve(response);
      });
    });
}

// protobufjs types for unpacking google.protobuf.Any payloads of operations.
function loadTypes() {
  const root = new protobuf.Root();
  const resolve = root.resolvePath;
  root.resolvePath = (origin, target) => {
    for (const dir of INCLUDE_DIRS) {
      const candidate = path.join(dir, target);
      if (require('fs').existsSync(candidate)) return candidate;
    }
    return resolve(origin, target);
  };
  root.loadSync(FILES, { keepCase: true });
  return root;
}

function unpack(types, any, typeName) {
  check(any && any.type_url, `expected a packed ${typeName}, got ${JSON.stringify(any)}`);
  check(any.type_url.endsWith(`/${typeName}`), `expected ${typeName}, got ${any.type_url}`);
  const type = types.lookupType(typeName);
  return type.toObject(type.decode(any.value), { enums: String, longs: String, defaults: true });
}

async function waitDone(operations, name) {
  let operation = await operations.WaitOperation({ name, timeout: { seconds: WAIT_SECONDS } });
  const until = Date.now() + WAIT_SECONDS * 1000;
  while (!operation.done && Date.now() < until) {
    operation = await operations.WaitOperation({ name, timeout: { seconds: WAIT_SECONDS } });
  }
  check(operation.done, `operation ${name} did not finish in ${WAIT_SECONDS}s`);
  check(!operation.error, `operation ${name} failed: ${JSON.stringify(operation.error)}`);
  return operation;
}

async function main() {
  const target = process.argv[2];
  check(target, 'usage: node client.js HOST:PORT');
  const definition = protoLoader.loadSync(FILES, { ...LOADER_OPTIONS, includeDirs: INCLUDE_DIRS });
  const loaded = grpc.loadPackageDefinition(definition);
  const types = loadTypes();
  const credentials = grpc.credentials.createInsecure();
  const v1 = loaded.textgen.v1;
  const clients = {
    models: new v1.ModelService(target, credentials),
    tuned: new v1.TunedModelService(target, credentials),
    datasets: new v1.DatasetService(target, credentials),
    batch: new v1.TextGenerationBatchService(target, credentials),
    operations: new loaded.google.longrunning.Operations(target, credentials),
  };
  const operations = { WaitOperation: unary(clients.operations, 'WaitOperation') };

  // 1. A plain generation.
  const generated = await unary(clients.models, 'GenerateText')({
    model: 'models/text-bison-001',
    prompt: { text: 'Write one sentence about interoperability.' },
    candidate_count: 1,
  });
  check(generated.candidates.length === 1, `expected 1 candidate, got ${generated.candidates.length}`);
  check(generated.candidates[0].output.length > 0, 'the candidate has no output');
  console.log(`ok GenerateText: ${JSON.stringify(generated.candidates[0].output.slice(0, 60))}`);

  // 2. Tune a model and wait for its operation.
  const examples = [
    ['1', '2'],
    ['2', '3'],
    ['3', '4'],
    ['4', '5'],
  ].map(([text_input, output]) => ({ text_input, output }));
  const created = await unary(clients.tuned, 'CreateTunedModel')({
    tuned_model_id: 'node-interop',
    tuned_model: {
      display_name: 'Node interop',
      base_model: 'models/gemini-1.0-pro-001',
      tuning_task: {
        training_data: { examples: { examples } },
        hyperparameters: { epoch_count: 2, batch_size: 2, learning_rate: 0.001 },
      },
    },
  });
  check(created.name.startsWith('tunedModels/node-interop/operations/'), `odd operation name ${created.name}`);
  const tuning = await waitDone(operations, created.name);
  const tunedModel = unpack(types, tuning.response, 'textgen.v1.TunedModel');
  check(tunedModel.name === 'tunedModels/node-interop', `odd tuned model ${tunedModel.name}`);
  check(tunedModel.state === 'ACTIVE', `tuned model state ${tunedModel.state}, expected ACTIVE`);
  const fetched = await unary(clients.tuned, 'GetTunedModel')({ name: tunedModel.name });
  check(fetched.state === 'ACTIVE', `GetTunedModel state ${fetched.state}`);
  console.log(`ok CreateTunedModel: ${tunedModel.name} ${tunedModel.state}`);

  // 3. A batch completion over a new dataset.
  const prompts = ['Say hello.', 'Name a colour.', 'Count to three.'];
  const dataset = await unary(clients.datasets, 'CreateDataset')({
    dataset: { display_name: 'Node interop prompts' },
    dataset_id: 'node-prompts',
    rows: prompts.map((text) => ({ text })),
  });
  check(dataset.name === 'datasets/node-prompts', `odd dataset ${dataset.name}`);
  const batchOperation = await unary(clients.batch, 'Completion')({
    model_uri: 'models/text-bison-001',
    source_dataset_id: 'node-prompts',
  });
  const batchDone = await waitDone(operations, batchOperation.name);
  const batchResult = unpack(types, batchDone.response, 'textgen.v1.BatchCompletionResponse');
  check(batchResult.task_status === 'COMPLETED', `batch status ${batchResult.task_status}`);
  const listed = await unary(clients.datasets, 'ListDatasetRows')({
    dataset: `datasets/${batchResult.result_dataset_id}`,
    page_size: 100,
  });
  check(listed.rows.length === prompts.length, `expected ${prompts.length} rows, got ${listed.rows.length}`);
  listed.rows.forEach((row, index) => {
    check(row.result, `row ${index} is not a result row`);
    check(row.result.input.text === prompts[index], `row ${index} input ${JSON.stringify(row.result.input)}`);
    check(row.result.completion && row.result.completion.length > 0, `row ${index} has no completion`);
  });
  console.log(`ok Completion: ${listed.rows.length} rows in datasets/${batchResult.result_dataset_id}`);

  Object.values(clients).forEach((client) => client.close());
  console.log('interop ok');
}

main().catch((error) => fail(error.message));
