"""The offline coach: rubric-grounded guidance without a model, and says so.

It answers from the evaluation and the rubric: the criterion the question is
about (or the weakest ones), what the next score level asks for, and a
framework step that gets there.
"""

from __future__ import annotations

from typing import Any

from memoai.config import BusinessConfig

_WORDS = {
    "en": {
        "intro": "(Offline coach: no AI model is configured, so this guidance comes from the rubric.)",
        "focus": "Let's work on **{name}** (you scored {score} of {max}).",
        "next": "To reach {level}: {guidance}",
        "tip": "Try this from {framework}: {step}",
        "question": "A question to test your draft: {question}",
        "all_good": "Your scores are already at the top of the scale. Polish by asking a colleague to state your ask and its payback after one reading.",
    },
    "es": {
        "intro": "(Coach sin conexión: no hay un modelo de IA configurado, así que esta orientación sale de la rúbrica.)",
        "focus": "Trabajemos **{name}** (ha obtenido {score} de {max}).",
        "next": "Para llegar a {level}: {guidance}",
        "tip": "Pruebe esto de {framework}: {step}",
        "question": "Una pregunta para poner a prueba su borrador: {question}",
        "all_good": "Sus puntuaciones ya están en lo más alto de la escala. Pula el texto pidiendo a un colega que resuma su petición y su retorno tras una sola lectura.",
    },
}

# Which framework helps most with each offline signal of the rubric.
_FRAMEWORK_FOR = {
    "structure": "pyramid_principle",
    "evidence": "scqa",
    "financial": "business_case",
    "ask": "smart_ask",
    "risk": "business_case",
    "readability": "pyramid_principle",
}


def reply(
    business: BusinessConfig, rubric_scores: dict[str, Any], question: str, language: str
) -> str:
    words = _WORDS.get(language, _WORDS["en"])
    rubric = business.rubric
    criteria = {c.name: c for c in rubric.criteria}
    scored = [(name, item["score"]) for name, item in rubric_scores.items() if name in criteria]
    if not scored:
        return f"{words['intro']}\n\n{words['all_good']}"

    asked = question.casefold()
    mentioned = [
        name
        for name, _ in scored
        if name.casefold() in asked
        or criteria[name].id.replace("_", " ") in asked
        or any(len(w) > 4 and w in asked for w in name.casefold().split())
    ]
    weakest = sorted(scored, key=lambda kv: (kv[1], -criteria[kv[0]].weight))
    focus = mentioned[:1] or [name for name, score in weakest[:2] if score < rubric.scale.max]
    if not focus:
        return f"{words['intro']}\n\n{words['all_good']}"

    frameworks = {f.id: f for f in business.frameworks}
    parts = [words["intro"]]
    for name in focus:
        criterion = criteria[name]
        score = dict(scored)[name]
        target = min(rubric.scale.max, score + 1)
        parts.append(words["focus"].format(name=name, score=score, max=rubric.scale.max))
        parts.append(
            words["next"].format(
                level=f"{target} ({rubric.scale.labels[target]})",
                guidance=criterion.scoring_guidance[target],
            )
        )
        framework = frameworks.get(_FRAMEWORK_FOR.get(criterion.offline_signal or "", ""))
        framework = framework or (business.frameworks[0] if business.frameworks else None)
        if framework is not None:
            parts.append(
                words["tip"].format(framework=framework.name, step=framework.how_to_apply[0])
            )
            if framework.questions:
                parts.append(words["question"].format(question=framework.questions[0]))
    return "\n\n".join(parts)
