"""Hot topics and duplicate petitions.

`DuplicateIndex` flags a petition that repeats one already received (MinHash/LSH over
character shingles); `TopicModel` groups petitions about one problem in one place as they
arrive and ranks the groups by a documented heat score (see `triage.topics.heat`);
`extract_entities` finds the places, estates, roads, schools and companies a petition names.
`TopicState` holds both for the API, persisted under `<models_dir>/topics/`.
"""

from triage.topics.clustering import Topic, TopicModel
from triage.topics.duplicates import DuplicateIndex, Match
from triage.topics.entities import Entity, extract_entities
from triage.topics.heat import heat
from triage.topics.state import TopicState

__all__ = [
    "DuplicateIndex",
    "Entity",
    "Match",
    "Topic",
    "TopicModel",
    "TopicState",
    "extract_entities",
    "heat",
]
