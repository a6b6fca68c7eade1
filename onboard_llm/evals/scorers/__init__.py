"""The built-in scorers; importing this package registers each by name.

=============  ====================================================================
``schema``     how far the answer got: JSON, plan schema, domain rules
``structure``  the playbook's invariants on the dated plan (phases, reviews, kickoff, owners, RACI)
``fields``     the plan against the golden plan, field by field
``grounding``  people, figures, tool names and dates that the notes or context contain
``facts``      ``expect.yaml``: what the plan must mention and must not
=============  ====================================================================
"""

from __future__ import annotations

from onboard_llm.evals.scorers.facts import FactsScorer
from onboard_llm.evals.scorers.fields import FieldsScorer
from onboard_llm.evals.scorers.grounding import GroundingScorer
from onboard_llm.evals.scorers.judge import JudgeScorer as JudgeScorer
from onboard_llm.evals.scorers.schema import SchemaScorer
from onboard_llm.evals.scorers.structure import StructureScorer

__all__ = ["FactsScorer", "FieldsScorer", "GroundingScorer", "SchemaScorer", "StructureScorer"]
