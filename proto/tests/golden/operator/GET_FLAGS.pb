Ÿ

agent_ping_timeout15secs
"
agent_reregister_timeout10mins

allocation_interval1secs

	allocatorhierarchical

authenticate_agentsfalse
 
authenticate_frameworksfalse
%
authenticate_http_frameworksfalse
#
authenticate_http_readonlyfalse
$
authenticate_http_readwritefalse
#
authentication_v0_timeout15secs

authenticatorscrammd5

authorizerslocal

filter_gpu_resourcestrue

framework_sorterdrf

helpfalse

hostname_lookuptrue

http_authenticatorsbasic
!
initialize_driver_loggingtrue

ip	127.0.0.1

log_auto_initializetrue


logbufsecs0

logging_levelINFO

max_agent_ping_timeouts5

max_completed_frameworks50
)
!max_completed_tasks_per_framework1000
-
%max_operator_event_stream_subscribers1000
+
#max_unreachable_tasks_per_framework1000

memory_profilingfalse
-
min_allocatable_resourcescpus:0.01|mem:32

port15250
%
publish_per_framework_metricstrue

quietfalse
$
recovery_agent_removal_limit100%

registry	in_memory

registry_fetch_timeout1mins

registry_gc_interval15mins
 
registry_max_agent_age2weeks
"
registry_max_agent_count102400
 
registry_store_timeout20secs

registry_strictfalse

require_agent_domainfalse

role_sorterdrf

root_submissionstrue

versionfalse
#
	webui_dir/usr/share/mesos/webui
-
work_dir!/tmp/mesos-ref-local-15250/master

zk_session_timeout10secs