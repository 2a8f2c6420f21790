/**
 * @file The reasoner benchmark's case (src/bench/reasoner.ts): its question and what PyTorch makes of it on the
 * tiny-random pack, greedy: the prompt ids and the first 16 generated ids of the `plain` case that
 * tools/make_tiny_random.py writes to the test fixtures. Kept here so the benchmark does not import the tests;
 * tests/unit/bench/reasoner_case.test.ts checks these still equal tests/fixtures/tiny-random/fixtures.json.
 */
export const REASONER_BENCH_CASE = {
  question: 'What is two plus three?',
  inputIds: [
    1017, 409, 10, 363, 320, 256, 385, 327, 46, 1018, 10, 1017, 286, 10, 845, 589, 568, 287, 563, 63, 1018, 10, 1017,
    407, 10,
  ],
  generatedIds: [338, 410, 258, 172, 756, 157, 1010, 99, 365, 758, 803, 260, 978, 751, 115, 647],
} as const;
