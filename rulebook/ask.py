"""ASK's names for reserve instances, and how a reserve pod is labelled and annotated.

Source: the ASK article "Knative on Alibaba Cloud" (reserved instances): reserve pods are
``{revision}-deployment-reserve`` pods labelled ``knative.aliyun.com/reserve-instance``; the
instance is chosen with ``knative.aliyun.com/reserve-instance-eci-use-specs`` and shows in
the pod's ``k8s.aliyun.com/eci-instance-spec`` / ``-cpu`` / ``-mem`` annotations. This
module is deliberately light (stdlib only) so cluster mode can import the names without
the local pod runtime.
"""

from __future__ import annotations

from collections.abc import Sequence

RESERVE_LABEL = "knative.aliyun.com/reserve-instance"  # "true" on reserve pods
USE_SPECS_ANNOTATION = "k8s.aliyun.com/eci-use-specs"
SPEC_ANNOTATION = "k8s.aliyun.com/eci-instance-spec"
CPU_ANNOTATION = "k8s.aliyun.com/eci-instance-cpu"
MEM_ANNOTATION = "k8s.aliyun.com/eci-instance-mem"


def use_specs_value(instance_types: Sequence[str], instance: str) -> str:
    """``eci-use-specs`` on a reserve pod: the types asked for, in order, else the instance.

    A CPU-memory size or the default has no list of types: the chosen instance's name
    stands for it.
    """
    return ",".join(instance_types) or instance


def reserve_pod_annotations(
    *, instance: str, cpu: float, memory_gib: float, use_specs: str
) -> dict[str, str]:
    """The ECI annotations ASK puts on a reserve pod (cpu to 3 places, memory in GiB to 2)."""
    return {
        USE_SPECS_ANNOTATION: use_specs,
        SPEC_ANNOTATION: instance,
        CPU_ANNOTATION: f"{cpu:.3f}",
        MEM_ANNOTATION: f"{memory_gib:.2f}",
    }
