"""The mixer's starting weights: an offline fit on text outside the dev texts, written by
`python -m tuiwriter.bench --fit-mixer` (which says how). Rows: contexts (the corpus memory's
context times the document match's, `engine.MIXER_SLOTS`), then the classes of the character
before (`mixer.char_class`); columns: the model, then each expert's inputs in slot order, then the
fast output-layer correction and the pair correction (`mixer.fast_log_probs`, `pair_log_probs`;
added at stop 29, after the fit: their columns start at 0, untrusted, and each model's warm-up and
each document learn them)."""

from __future__ import annotations

import torch

from tuiwriter.lm.checkpoint import MixerStart
from tuiwriter.predict.experts import bucket
from tuiwriter.predict.experts.corpus_memory import MIXER_COUNT_EDGES, MIXER_EDGES, CorpusMemoryExpert
from tuiwriter.predict.experts.document_match import DocumentMatchExpert
from tuiwriter.predict.mixer import CLASSES, MATCH_KEYS, REMEMBERED_KEYS, Adaptation, sides_start

CONTEXTS = CorpusMemoryExpert.contexts * DocumentMatchExpert.contexts  # engine.MIXER_SLOTS's order
# the corpus memory's length buckets where its match is 12+, 24+ characters
REMEMBERED_LEVELS = (bucket(12, MIXER_EDGES), bucket(24, MIXER_EDGES))
assert DocumentMatchExpert.contexts <= MATCH_KEYS and len(REMEMBERED_LEVELS) < REMEMBERED_KEYS


def match_context(context: int) -> tuple[int, int]:
    """The side mixers' match context (`mixer.side_keys`) from the experts' `context`: the
    document match's (its length bucket), and whether the remembered text matches under 12, 12
    to 23, or 24 or more characters (0, 1, 2)."""
    document = context % DocumentMatchExpert.contexts
    length = context // DocumentMatchExpert.contexts // (len(MIXER_COUNT_EDGES) + 1)
    return document, sum(length >= edge for edge in REMEMBERED_LEVELS)


INPUTS = 1 + 3 + 2 + 2
BEFORE_STOP_29 = 1 + 3 + 2  # the inputs a fit or a learnt start had before the corrections were inputs
# CONTEXTS + CLASSES rows of INPUTS weights; empty: the model alone. `python -m tuiwriter.bench --fit-mixer
# ../shared/corpora/train train90.txt --chars 30000` (bits/char on its four texts, second pass:
# 1.2872 the drafted text, then 1.9915, 1.6495, 1.9569; the drafted text's long matches seen once are what taught the
# 24 and 32 buckets to trust the memory: README, "A phrase written once").
FIT: list[list[float]] = [
    [0.9975, -0.0025, -0.0025, -0.0025, -0.0025, -0.0025],
    [0.9006, -0.0993, -0.0993, -0.0993, -0.0143, 0.3186],
    [0.8928, -0.1072, -0.1072, -0.1072, 0.0130, 0.2051],
    [0.8802, -0.1198, -0.1198, -0.1198, 0.1674, 0.2259],
    [0.7798, -0.2202, -0.2202, -0.2202, 0.3700, 0.4191],
    [0.6418, -0.3582, -0.3582, -0.3582, 0.9366, 0.2663],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0626, -0.1351, -0.1351, 0.1768, 0.0626, 0.0626],
    [1.1024, 0.0492, 0.0492, 0.1565, 0.2724, 0.2724],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [0.9995, -0.0251, -0.0251, -0.1522, 0.0865, 0.0865],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [0.9117, 0.0812, 0.0812, 0.0001, -0.0883, -0.0883],
    [0.8331, 0.0731, 0.0731, 0.1481, -0.1401, -0.1258],
    [1.0306, 0.0462, 0.0462, 0.0986, 0.0260, 0.0384],
    [1.0439, -0.0149, -0.0149, 0.0008, 0.0167, 0.0206],
    [1.0282, -0.0419, -0.0419, -0.0607, -0.0217, -0.0217],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [0.9561, 0.0186, 0.0186, 0.0858, -0.0439, -0.0439],
    [1.0994, -0.1371, -0.1371, 0.1053, 0.0305, 0.0231],
    [0.8954, -0.2031, -0.2031, 0.1370, 0.2531, 0.3577],
    [0.9721, 0.0102, 0.0102, 0.0900, 0.0172, 0.0048],
    [0.9897, -0.0027, -0.0027, -0.0092, 0.0480, 0.0585],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0429, -0.0793, 0.0989, 0.0266, 0.0429, 0.0429],
    [1.2157, -0.2220, 0.1133, -0.0216, -0.1756, 0.0842],
    [1.0182, -0.3433, 0.2647, -0.0668, 0.2177, -0.0115],
    [0.8607, -0.0962, 0.0679, 0.0276, 0.1627, 0.0579],
    [0.9738, -0.0943, 0.0320, 0.1038, -0.0323, 0.0131],
    [1.0206, -0.0022, -0.0009, -0.0453, 0.0436, 0.0340],
    [0.9595, -0.0410, 0.1404, 0.0043, -0.0405, -0.0405],
    [1.1234, -0.1365, 0.1417, 0.0019, -0.1045, -0.0108],
    [0.9255, -0.0360, -0.0207, -0.0770, 0.1238, 0.1326],
    [1.1013, -0.0392, 0.0904, -0.0995, -0.0022, 0.2103],
    [1.0284, -0.0411, -0.0255, -0.0925, 0.1174, 0.0385],
    [0.9039, -0.1110, -0.0895, -0.1030, -0.1010, -0.0468],
    [1.0151, -0.0968, 0.1632, -0.0085, 0.0151, 0.0151],
    [1.1703, -0.0161, 0.2234, -0.0574, -0.1081, 0.0653],
    [0.9980, -0.0757, 0.0764, -0.0645, 0.0669, 0.0142],
    [0.8119, -0.2401, -0.1204, 0.1895, 0.1596, 0.1015],
    [0.8051, -0.0959, 0.0358, 0.1892, 0.0354, 0.0547],
    [0.9274, 0.0627, 0.0237, 0.0749, 0.0724, 0.0773],
    [1.0160, 0.0447, 0.1375, -0.1552, 0.0160, 0.0160],
    [1.0557, -0.0340, 0.0842, -0.0168, -0.1416, -0.0030],
    [1.0569, -0.2238, 0.0987, -0.0084, -0.1281, 0.0635],
    [1.1630, -0.2788, -0.1875, 0.0640, 0.0077, 0.0923],
    [0.6720, -0.2072, -0.1289, 0.0454, 0.3944, 0.0876],
    [0.9647, -0.0121, 0.0026, 0.0052, 0.1318, 0.0713],
    [1.0089, -0.1097, 0.1327, -0.2085, 0.0089, 0.0089],
    [1.0973, -0.0661, 0.1198, -0.1249, -0.1222, 0.0216],
    [1.0584, -0.1396, 0.1410, -0.0099, -0.0141, 0.0792],
    [0.9851, -0.2368, 0.1313, -0.0470, 0.0529, 0.0305],
    [1.0229, -0.0137, -0.0375, 0.0450, 0.1650, 0.1150],
    [1.0415, -0.0133, -0.0038, -0.1473, 0.1952, 0.1253],
    [1.0700, 0.0204, 0.1085, -0.0797, 0.0700, 0.0700],
    [1.1468, -0.0487, 0.1787, -0.0519, -0.0456, -0.0174],
    [1.1039, -0.0915, 0.0183, 0.0189, -0.1424, 0.1272],
    [0.8809, -0.0568, 0.0224, -0.0643, 0.1030, 0.1477],
    [0.9070, -0.0631, -0.1298, 0.1228, 0.1280, 0.0242],
    [0.9565, 0.0260, -0.0297, 0.0244, 0.0434, -0.0299],
    [1.0065, 0.0067, 0.0893, -0.0038, 0.0065, 0.0065],
    [0.9681, -0.0496, 0.1328, -0.1112, 0.0751, -0.1573],
    [1.0701, -0.0307, 0.1329, -0.0505, -0.0269, 0.0576],
    [1.0709, -0.2169, -0.0519, 0.0025, 0.1087, -0.0201],
    [1.0813, -0.2072, 0.1431, -0.0194, 0.1152, -0.0685],
    [1.0453, 0.0649, 0.0787, 0.1301, 0.1208, 0.1283],
    [0.9661, 0.2549, 0.0540, -0.0632, -0.0339, -0.0339],
    [1.1871, -0.1654, 0.0754, 0.0356, -0.1362, -0.0516],
    [1.1881, -0.1697, 0.1695, 0.0465, -0.0553, -0.1102],
    [0.8277, 0.0364, 0.0320, -0.0643, 0.1935, 0.0384],
    [0.9525, -0.1473, 0.0706, 0.0333, -0.1277, -0.0685],
    [0.9823, -0.0417, -0.0373, -0.1018, -0.0222, -0.0461],
    [0.9755, 0.0330, -0.0185, -0.0440, -0.0245, -0.0245],
    [1.1921, -0.3029, -0.0220, -0.1085, -0.1716, -0.1139],
    [0.9848, -0.1456, 0.0942, -0.0142, -0.0254, 0.0633],
    [0.9298, -0.2775, 0.1470, 0.1064, -0.1702, 0.2394],
    [1.0490, -0.2430, 0.2653, -0.1777, -0.1672, 0.0265],
    [0.9584, -0.0292, 0.0246, 0.0402, -0.0583, -0.0242],
    [0.8165, 0.4098, -0.0623, -0.1979, -0.1835, -0.1835],
    [0.9262, 0.2799, 0.0473, -0.0160, -0.1457, -0.0705],
    [0.7851, 0.0107, 0.1049, -0.0026, -0.1189, 0.0737],
    [0.8847, 0.2118, -0.1634, -0.0343, -0.0727, -0.0378],
    [0.7443, 0.0414, -0.0098, 0.0124, 0.0357, -0.1397],
    [0.9289, -0.1000, -0.0100, 0.0833, -0.0252, 0.0243],
    [0.9648, 0.0117, -0.0593, -0.0321, -0.0352, -0.0352],
    [0.9403, -0.1864, 0.0652, 0.0465, 0.0707, 0.0822],
    [1.0684, -0.1948, 0.1331, 0.0668, -0.0740, -0.1608],
    [0.9478, -0.1120, 0.1121, 0.0321, -0.0103, -0.0851],
    [0.9771, -0.0605, -0.0010, 0.1426, 0.1129, -0.0620],
    [1.0153, 0.0164, 0.0042, 0.0124, 0.0285, 0.0181],
    [0.9656, -0.0661, -0.0534, -0.0632, -0.0344, -0.0344],
    [0.9343, -0.0470, -0.0721, -0.0482, 0.0097, -0.0035],
    [0.9922, -0.0309, 0.0106, -0.1210, 0.0044, -0.0230],
    [0.9270, -0.1006, -0.0171, -0.0495, -0.0630, -0.0487],
    [0.9463, -0.0047, -0.0339, 0.0215, 0.0371, -0.0395],
    [1.0299, 0.0377, 0.0260, 0.0431, 0.0624, 0.0485],
    [0.8252, 0.3331, -0.1851, 0.3806, -0.1748, -0.1748],
    [0.6728, 0.4385, -0.1681, 0.3024, -0.1942, -0.0986],
    [0.7615, 0.4115, -0.1780, 0.4179, -0.1090, -0.1603],
    [0.8278, 0.4381, -0.2544, 0.3024, -0.3060, -0.2787],
    [0.9770, 0.1774, -0.0225, 0.1740, -0.0460, -0.0522],
    [0.9198, 0.0285, -0.0183, 0.0942, -0.0506, -0.0394],
    [0.9783, -0.0151, -0.0290, -0.0185, -0.0217, -0.0217],
    [0.9740, -0.0490, -0.0153, -0.0585, -0.0342, -0.0429],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [0.9287, -0.0896, -0.0595, -0.0902, -0.0882, -0.0884],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [0.8029, 0.6766, -0.5781, 0.4171, -0.1971, -0.1971],
    [0.5128, 0.6723, -0.2537, 0.4453, -0.0894, -0.0238],
    [0.5480, 0.6626, -0.2047, 0.4116, -0.1640, -0.0873],
    [0.6808, 0.3827, -0.2037, 0.4863, -0.2432, -0.0437],
    [0.6953, 0.4335, -0.1871, 0.3913, -0.2202, -0.2595],
    [0.8929, 0.1077, -0.0366, 0.1950, -0.0180, -0.0152],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
    [0.0031, 0.0031, 0.0031, 0.0031, 0.0031, 0.0031],
    [-1.0568, -0.2200, 0.1135, 0.3154, 0.0271, 0.6119],
    [-0.7788, 0.1225, 0.0271, 0.2103, 0.1410, 0.0912],
    [-0.1566, -0.1644, -0.1728, -0.2685, 0.4129, 0.3038],
    [-0.5391, 0.0675, 0.0727, 0.2051, 0.0549, 0.1112],
    [-0.4220, -0.1474, -0.2054, 0.3878, -0.0628, 0.3290],
    [-0.0272, -0.3313, -0.1522, 0.2572, -0.0018, -0.0421],
    [0.0235, -0.5883, -0.0038, 0.4102, -0.0387, -0.0738],
    [-0.7902, -0.1576, 0.2175, 0.3435, -0.1538, 0.2233],
    [-0.7910, 0.0588, -0.1661, 0.5187, 0.1774, 0.0748],
    [-0.0706, 0.0947, -0.0023, 0.3032, -0.0725, -0.0725],
    [-0.0400, -0.0400, -0.0400, -0.0400, -0.0400, -0.0400],
]


def initial_weights() -> torch.Tensor:
    """A fresh copy of the fitted weights (the model alone where there is no fit)."""
    if FIT:
        return _widened(torch.tensor(FIT, dtype=torch.float32))
    return model_alone()


def _widened(weights: torch.Tensor) -> torch.Tensor:
    """Weights [rows, INPUTS]: a table fitted or learnt before the corrections were inputs (from
    BEFORE_STOP_29 columns; new inputs are added last) gets their columns at 0, untrusted; NaN
    rows (side keys never used) stay NaN."""
    missing = INPUTS - weights.shape[1]
    if not 0 < missing <= INPUTS - BEFORE_STOP_29:
        return weights
    columns = torch.where(torch.isnan(weights[:, :1]), float("nan"), 0.0).expand(-1, missing)
    return torch.cat([weights, columns], 1)


def initial_adaptation(weights: torch.Tensor | None = None, side: bool = True) -> Adaptation:
    """What a document's mixers start from: the shared mixer's `weights` (default: the fitted
    ones) and, with `side`, the side mixers and the final layer as they start."""
    weights = initial_weights() if weights is None else weights
    if not side:
        return Adaptation(weights)
    tables, final = sides_start(weights.shape[1], CONTEXTS)
    return Adaptation(weights, side=tables, final=final)


def starting_adaptation(start: MixerStart | None) -> Adaptation:
    """What a document's mixers start from with a model: the start it learnt on its own text
    after training (`training.warmup`), or the fitted one where it has none or one of another
    shape (saved by a tuiwriter whose mixers had other inputs or keys). A start learnt before the
    corrections were inputs keeps what it learnt, their columns at 0."""
    fresh = initial_adaptation()
    if start is None or fresh.side is None or fresh.final is None:
        return fresh
    weights, side = _widened(start.weights), _widened(start.side)
    shapes = (fresh.weights.shape, fresh.side.shape, fresh.final.shape)
    if (weights.shape, side.shape, start.final.shape) != shapes:
        return fresh
    return Adaptation(weights.clone(), side=side.clone(), final=start.final.clone())


def model_alone() -> torch.Tensor:
    """Weights that give the model's own prediction in every context (where a fit starts)."""
    weights = torch.zeros(CONTEXTS + CLASSES, INPUTS)
    weights[:CONTEXTS, 0] = 1.0
    return weights
