"""The parts of ``remiss score`` (:mod:`pipeline.score` composes them): what one document
goes through (:mod:`.documents`), the stance model (:mod:`.model`), the per-document cache
and the output files (:mod:`.cache`), progress (:mod:`.progress`) and the engines that run
documents through it all, on this machine or on a Ray cluster (:mod:`.engines`)."""
