"""The small, deterministic corpus the tiny BPE is trained on (system prompts, instructions, shape-world
prompts, reasoning and answers in the <think>/<answer> format)."""

from __future__ import annotations

from .config import INSTRUCTION_PREFIX, SYSTEM_PROMPT_COT, SYSTEM_PROMPT_PLAIN
from .tokenizer import render_chat

COLOURS = ["red", "green", "blue", "yellow", "orange", "purple", "black", "white", "pink", "brown", "grey", "cyan"]
SHAPES = ["circle", "square", "triangle", "star", "heart", "hexagon", "diamond", "cross", "ring", "apple", "ball", "box"]
NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
PLACES = ["on the left", "on the right", "at the top", "at the bottom", "in the middle", "in a row", "in a grid"]
BACKGROUNDS = ["white background", "black background", "blue sky", "green grass", "wooden table", "grey wall"]

GENERAL = """
A picture of a cat sitting on a chair. A photo of a dog running in the park. The sun is shining and the sky is clear.
What is in this image? Describe the picture in detail. How many objects are there? What colour is the shape?
The answer is three. The result of 3 apples plus 2 apples is 5 apples. Draw the result of the sum.
Please draw a house with a red roof and a small garden. Make the circle green. Replace the square with a star.
Change the background to blue. Add one more triangle. Remove the heart. Turn the picture upside down.
It's a nice day, isn't it? I'll think about it. We've seen it before; they're here and you'd like it.
Numbers: 0 1 2 3 4 5 6 7 8 9 10 11 12 100 2024 3.14 1/2 50% #1 (a) [b] {c} "quoted" 'single' a-b a_b a+b=c x*y.
"""

WORDS = """
about above across after again against air all almost alone along already also always among animal another answer
any appear area around ask away back bad beautiful because become bed before began begin behind being believe
below best better between big bird black blue boat body book both bottom bring brother build built busy but buy
call came can car care carry case cause centre certain change child children city class clean clear close cloud
cold colour come common complete contain correct could count country course cover cross cry cut dark day deep
develop did different direction distance does dog done door double down draw dream drive dry during each early
earth east easy eat edge effect egg eight either else end enough even evening ever every example eye face fact
fall family far farm fast father feel feet few field fill final find fine fire first fish five floor flower fly
follow food foot force forest form found four free friend from front full game garden gave general get girl give
glass gold good got great ground group grow half hand happen happy hard have head hear heart heat heavy help here
high hill hold hole home hope horse hot hour house however hundred idea important inch inside island just keep kind
king knew know land language large last late laugh lead learn leave left less letter level life light like line
list listen little live long look lost love low machine made main make man many map mark matter mean measure meet
might mile mind minute miss money moon more morning most mother mountain mouth move much music must name near need
never new next night north nothing notice now number object ocean off often old once only open order other outside
over own page paint paper part pass past pattern people perhaps person picture piece place plain plan plant play
point pose power press pretty problem produce pull push put question quick quiet rain ran reach read ready real
reason record rest river road rock room round rule run said same sat saw say school science sea season second see
seem sentence set several shape sharp ship short should show side sign simple since sing sit size sleep slow small
smile snow some song soon sound south space speak special spring stand start state stay step still stone stood stop
story street strong study such summer sure surface swim system table tail take talk tall teach tell ten than thank
their them then there these thing think third those though thought thousand through time tiny today together told
too took top toward town travel tree true try turn under understand until upon use usual valley very voice walk want
warm watch water wave way weather week weight well went were west what wheel when where which while whole why wide
wild will wind window winter wish with without woman wonder wood word work world would write year yes yet young
""".split()

NEGATIVE = "blurry, low quality, distorted, deformed, watermark, text, bad anatomy, ugly, noisy"


def corpus_text() -> str:
    parts = [SYSTEM_PROMPT_COT, SYSTEM_PROMPT_PLAIN, INSTRUCTION_PREFIX, GENERAL, NEGATIVE]
    for i in range(0, len(WORDS), 12):
        parts.append(" ".join(WORDS[i : i + 12]).capitalize() + ".")
    k = 0
    for n_i, n in enumerate(NUMBERS[1:], start=1):
        for c_i, col in enumerate(COLOURS):
            s = SHAPES[(n_i * 5 + c_i) % len(SHAPES)]
            place = PLACES[(n_i + c_i) % len(PLACES)]
            bg = BACKGROUNDS[(n_i * 3 + c_i) % len(BACKGROUNDS)]
            plural = s + ("es" if s.endswith(("x", "s")) else "s") if n_i != 1 else s
            a, b = n_i // 2, n_i - n_i // 2
            prompt = f"draw the result of {a} {col} {s}s plus {b} {col} {s}s"
            reply = (
                f"<think> The user asks for {a} plus {b} {col} {s}s. {a} plus {b} equals {n_i}, so the image "
                f"should show {n} {col} {plural} {place} on a {bg}. </think><answer> {n} {col} {plural} {place}, "
                f"{bg} </answer>"
            )
            system = SYSTEM_PROMPT_COT if k % 2 == 0 else SYSTEM_PROMPT_PLAIN
            msgs = [
                {"role": "system", "content": system},
                {"role": "user", "content": INSTRUCTION_PREFIX + prompt},
                {"role": "assistant", "content": reply},
            ]
            parts.append(render_chat(msgs, add_generation_prompt=False))
            parts.append(f"A picture of {n} {col} {plural} {place} on a {bg}.")
            k += 1
    return "\n".join(parts) + "\n"
