/** `dekag eval --image FILE.png --prompt TEXT [--reference FILE.png] --json` */
import { consistency, cosine, Evaluator } from '../gsc/evaluate.js';
import { readPng } from '../gsc/image.js';
import { ModelStore } from '../gsc/models.js';
import { parseProvider } from '../gsc/onnx.js';
import { tokenize } from '../gsc/tokenizer.js';
import { MODEL_OPTIONS, parse, requireString } from './args.js';
import { round } from './generate.js';

// the help text lives in help.ts, so that `dekag eval --help` loads no models
export { EVAL_HELP } from './help.js';

export async function runEval(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...MODEL_OPTIONS,
    image: { type: 'string' },
    prompt: { type: 'string' },
    reference: { type: 'string' },
    json: { type: 'boolean' },
  });
  const imagePath = requireString(values, 'image');
  const prompt = requireString(values, 'prompt');
  const referencePath = values['reference'] as string | undefined;
  const store = ModelStore.open(values['models'] as string | undefined);
  tokenize(prompt, store.vocab);
  const images = [readPng(imagePath), ...(referencePath ? [readPng(referencePath)] : [])];
  const evaluator = await Evaluator.load(store, { provider: parseProvider((values['provider'] as string | undefined) ?? 'cpu') });
  const judged = await evaluator.judgeImages(images);
  const text = await evaluator.embedPrompt(prompt);
  const me = judged[0]!;
  const agreement = evaluator.agreement(prompt, me);
  const result: Record<string, unknown> = {
    image: imagePath,
    prompt,
    image_text_score: round(cosine(me.embedding, text), 4),
    attributes: me.attributes,
    confidence: Object.fromEntries(Object.entries(me.confidence).map(([k, v]) => [k, round(v, 3)])),
    prompt_agreement: agreement,
  };
  if (referencePath) {
    const ref = judged[1]!;
    result['reference'] = referencePath;
    result['image_image_score'] = round(cosine(me.embedding, ref.embedding), 4);
    result['consistency'] = round(consistency(me.embedding, ref.embedding, text), 4);
  }
  if (values['json']) {
    process.stdout.write(JSON.stringify(result) + '\n');
  } else {
    for (const [k, v] of Object.entries(result)) process.stdout.write(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}\n`);
  }
  return 0;
}
